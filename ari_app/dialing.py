"""Numbers the app dials out through a trunk (issue 15): the admin's dial rules
(crm/dialing/rules.py) rewrite the number and choose the trunk first."""

from __future__ import annotations

import logging

from ari_app.ringing import Phone
from crm.dialing.model import Dialing
from crm.dialing.rules import Dialling, dialling
from crm.dialing.technology import trunk_dial

log = logging.getLogger(__name__)


def outside_phone(number: str, *, name: str, dialing: Dialing, default_trunk: str, region: str,
                  user_id: int | None = None) -> tuple[Phone, Dialling]:
    """The phone to ring for an outside number (a client's, a user's mobile), and how the rules dial it."""
    plan = dialling(number, dialing.rules, default_trunk=default_trunk, region=region)
    if plan.rule is not None:
        log.info("number %s dialled as %s through %s (dial rule %s: %s)", number, plan.number, plan.trunk,
                 plan.rule.id, plan.rule.pattern)
    return Phone(user_id, name, number, dial=trunk_dial(plan.number, plan.trunk)), plan


def rule_params(plan: Dialling) -> dict:
    """What a route step keeps of a rewritten number (not shown; for whoever reads the stored route)."""
    if plan.rule is None:
        return {}
    return {"dialled": plan.number, "trunk": plan.trunk, "dial_rule": plan.rule.id}
