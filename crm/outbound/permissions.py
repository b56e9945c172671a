"""Who may do what with dial campaigns (issue 22): pure functions of the user and the campaign's facts.

Supervisors and admins run campaigns: create, edit, load numbers, start/pause/cancel, keep the
do-not-call list, watch every dashboard. A campaign's agents (operators or managers named on it)
see that campaign and work its preview calls; nobody else sees it. Customers never see campaigns.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from crm.roles import ADMIN, SUPERVISOR, is_customer

CAMPAIGN_ROLES = (SUPERVISOR, ADMIN)


def manages_campaigns(user: Mapping) -> bool:
    """Create, change, start and stop campaigns; edit the do-not-call list."""
    return user["role"] in CAMPAIGN_ROLES


def sees_campaign(user: Mapping, agent_ids: Collection[int]) -> bool:
    """The campaign's page and dashboard: its managers, and the agents named on it."""
    if is_customer(user):
        return False
    return manages_campaigns(user) or user["id"] in agent_ids


def works_campaign(user: Mapping, agent_ids: Collection[int]) -> bool:
    """Takes the campaign's calls (preview: dials them) and records their outcomes: its agents."""
    return not is_customer(user) and user["id"] in agent_ids


def sees_campaign_list(user: Mapping) -> bool:
    """The campaigns menu: everyone but customers (an agent's list holds only its campaigns)."""
    return not is_customer(user)
