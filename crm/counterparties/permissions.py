"""Who may do what with a counterparty: pure functions of the user and the record."""

from __future__ import annotations

from collections.abc import Mapping

from crm.i18n import N_
from crm.roles import MANAGER, ROLES, sees_everything


def can_view(user: Mapping, counterparty: Mapping) -> bool:
    # A call centre answers any caller: every user sees every counterparty.
    return counterparty.get("deleted_at") is None or sees_everything(user)


def can_create(user: Mapping) -> bool:
    return user["role"] in ROLES


def can_edit(user: Mapping, counterparty: Mapping) -> bool:
    if counterparty.get("deleted_at") is not None:
        return False
    if sees_everything(user):
        return True
    responsible = counterparty.get("responsible_user_id")
    if user["role"] == MANAGER:
        return responsible in (None, user["id"])
    # Operators keep what they entered themselves and what has no manager yet.
    return responsible is None or counterparty.get("created_by") == user["id"]


def can_delete(user: Mapping, counterparty: Mapping) -> bool:
    if counterparty.get("deleted_at") is not None:
        return False
    if sees_everything(user):
        return True
    return user["role"] == MANAGER and counterparty.get("responsible_user_id") == user["id"]


# Translated where shown: gettext(GIVE_AWAY_REFUSED).
GIVE_AWAY_REFUSED = N_("only supervisors and admins give clients to another manager")


def can_assign_responsible(user: Mapping, new_responsible_id: int | None, current_id: int | None) -> bool:
    """Managers and operators may take a counterparty or leave it as it is, not give it away.

    The one rule for editing, creating (current_id None) and importing a counterparty."""
    if sees_everything(user) or new_responsible_id == current_id:
        return True
    return new_responsible_id == user["id"] and current_id is None
