"""A finished call's status (calls.status) from whether someone took it and Asterisk's hang-up
cause: the one rule for the Stasis app's rows (crm/calls/queries.py mark_ended) and those
built from CEL (crm/cel/). Pure."""

from __future__ import annotations

BUSY_CAUSE = 17  # USER_BUSY
# Q.850 causes that mean the call could not be put through (unallocated number, no route,
# network out of order, ...), not that nobody took it.
FAILURE_CAUSES = (1, 2, 3, 27, 28, 34, 38, 41, 42, 58)


def status_after(answered: bool, cause: int | None) -> str:
    """An unanswered call is missed unless the cause says busy or failure."""
    if answered:
        return "answered"
    if cause == BUSY_CAUSE:
        return "busy"
    return "failed" if cause in FAILURE_CAUSES else "missed"
