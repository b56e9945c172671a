"""Login throttling: the decision, without I/O.

Each failed attempt is counted per login and per client address. Past a number
of free failures, the next attempt waits 2^(n - free) x base seconds after the
last failure, at most max_delay; a count no failure has touched for
forget_after seconds starts again from zero. The counts live in PostgreSQL
(crm/users/queries.py), the flow that uses them in crm/users/login.py.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from crm.i18n import ngettext


@dataclass(frozen=True)
class Policy:
    free_failures: int
    base_delay: float = 1.0
    max_delay: float = 15 * 60.0
    forget_after: float = 24 * 3600.0


# A login: five tries, then 1 s, 2 s, 4 s ... up to 15 minutes between tries.
LOGIN = Policy(free_failures=5)
# An address is shared by a whole call centre behind NAT: more typos are allowed
# before it slows down, and they are forgotten after an hour without one.
ADDRESS = Policy(free_failures=20, forget_after=3600.0)


def current_failures(policy: Policy, failures: int, last_failure_at: dt.datetime | None,
                     now: dt.datetime) -> int:
    """The count that still matters: zero once it has been forgotten."""
    if last_failure_at is None or (now - last_failure_at).total_seconds() >= policy.forget_after:
        return 0
    return failures


def wait_seconds(policy: Policy, failures: int, last_failure_at: dt.datetime | None,
                 now: dt.datetime) -> float:
    """0 when an attempt may go ahead now, else how many seconds until one may."""
    failures = current_failures(policy, failures, last_failure_at, now)
    if failures < policy.free_failures or last_failure_at is None:
        return 0.0
    exponent = min(failures - policy.free_failures, 40)  # 2^40 s is past any cap
    delay = min(policy.base_delay * 2 ** exponent, policy.max_delay)
    remaining = delay - (now - last_failure_at).total_seconds()
    return remaining if remaining > 0 else 0.0


def in_words(seconds: float) -> str:
    """'in 40 seconds', 'in 2 minutes': rounded up, so the user never comes back too early."""
    n = max(1, math.ceil(seconds))
    if n < 60:
        return ngettext("in %(num)d second", "in %(num)d seconds", n) % {"num": n}
    n = math.ceil(seconds / 60)
    return ngettext("in %(num)d minute", "in %(num)d minutes", n) % {"num": n}
