"""When a message the gateway could not take now is tried again (issue 21), without I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 5.0  # the first retry's wait; doubled each attempt
    max_seconds: float = 600.0
    max_attempts: int = 8


def next_try(attempts: int, hint_seconds: float, backoff: Backoff) -> float | None:
    """Seconds until the next try after `attempts` tries (the one that just failed counted), or None:
    no more tries, the message fails. The gateway's hint (a throttled SMSC says "in a second") is the
    least wait; the exponential backoff grows past it as tries keep failing."""
    if attempts >= backoff.max_attempts:
        return None
    exponential = backoff.base_seconds * 2 ** max(0, attempts - 1)
    return min(backoff.max_seconds, max(hint_seconds, exponential))
