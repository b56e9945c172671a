"""What a dial campaign is, without I/O (issue 22): its modes and statuses, an attempt's outcomes, the
retry rules that decide when a number is tried again, and answering-machine detection's settings.

    draft -> running <-> paused -> done (nothing left to dial) | cancelled (any unfinished one)

A number: pending (waits for next_at and its window) -> dialing (an attempt is live) -> pending again
(retried per the rules) | done (answered, or out of attempts) | skipped (DNC, invalid, listed twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from crm.i18n import N_

PREVIEW, PROGRESSIVE, PREDICTIVE = "preview", "progressive", "predictive"
MODES = (PREVIEW, PROGRESSIVE, PREDICTIVE)
MODE_NAMES = {PREVIEW: N_("preview"), PROGRESSIVE: N_("progressive"), PREDICTIVE: N_("predictive")}

DRAFT, RUNNING, PAUSED, DONE, CANCELLED = "draft", "running", "paused", "done", "cancelled"
STATUSES = (DRAFT, RUNNING, PAUSED, DONE, CANCELLED)
STATUS_NAMES = {DRAFT: N_("draft"), RUNNING: N_("dialling"), PAUSED: N_("paused"), DONE: N_("done"),
                CANCELLED: N_("cancelled")}
START, PAUSE, RESUME, CANCEL, FINISH = "start", "pause", "resume", "cancel", "finish"
_MOVES: dict[str, tuple[frozenset[str], str]] = {
    START: (frozenset({DRAFT}), RUNNING),
    PAUSE: (frozenset({RUNNING}), PAUSED),
    RESUME: (frozenset({PAUSED}), RUNNING),
    CANCEL: (frozenset({DRAFT, RUNNING, PAUSED}), CANCELLED),
    FINISH: (frozenset({RUNNING}), DONE),  # the dialer's own: nothing left to dial
}
ACTIONS = (START, PAUSE, RESUME, CANCEL)

# An attempt's outcome. ANSWERED: a person answered and was bridged to an agent.
ANSWERED, BUSY, NO_ANSWER, FAILED, MACHINE, DROPPED, CANCELLED_ATTEMPT = (
    "answered", "busy", "no_answer", "failed", "machine", "dropped", "cancelled")
OUTCOMES = (ANSWERED, BUSY, NO_ANSWER, FAILED, MACHINE, DROPPED, CANCELLED_ATTEMPT)
OUTCOME_NAMES = {ANSWERED: N_("answered"), BUSY: N_("busy"), NO_ANSWER: N_("no answer"), FAILED: N_("failed"),
                 MACHINE: N_("answering machine"), DROPPED: N_("dropped (no free agent)"),
                 CANCELLED_ATTEMPT: N_("cancelled")}
# The outcomes the campaign's rules may retry; the others end the number (answered, dropped: a person
# was reached; cancelled: the number goes back to pending without counting).
RETRIED = (BUSY, NO_ANSWER, MACHINE, FAILED)
DEFAULT_RETRY = {BUSY: (3, 10), NO_ANSWER: (3, 60), MACHINE: (1, 240), FAILED: (2, 30)}

# Why a number is not dialled.
SKIP_DNC, SKIP_INVALID, SKIP_DUPLICATE, SKIP_CANCELLED = "dnc", "invalid_number", "duplicate", "cancelled"
SKIP_REASONS = {SKIP_DNC: N_("on the do-not-call list"), SKIP_INVALID: N_("invalid number"),
                SKIP_DUPLICATE: N_("number listed twice"), SKIP_CANCELLED: N_("campaign cancelled")}

# Q.850 causes a ChannelDestroyed of an unanswered attempt carries (Asterisk's causes.h).
_BUSY_CAUSES = frozenset({17})
_NO_ANSWER_CAUSES = frozenset({18, 19, 16})  # 16: the far end hung up while ringing (no answer for us)


class CampaignError(ValueError):
    """A move or a setting the rules refuse; the message is for the user."""


def next_status(action: str, status: str) -> str:
    allowed, to = _MOVES[action]
    if status not in allowed:
        raise CampaignError(f"cannot {action} a campaign that is {status}")
    return to


def outcome_of_cause(cause: int | None) -> str:
    """An attempt that ended before it was answered: what its hangup cause says."""
    if cause in _BUSY_CAUSES:
        return BUSY
    if cause in _NO_ANSWER_CAUSES:
        return NO_ANSWER
    return FAILED


@dataclass(frozen=True)
class RetryRule:
    attempts: int  # how many attempts this outcome may take in all (1: never retried)
    after_minutes: int


def retry_rules(stored: Mapping | None) -> dict[str, RetryRule]:
    """The campaign's rules (dial_campaigns.retry_rules), every retried outcome filled from the defaults."""
    stored = stored or {}
    rules = {}
    for outcome, (attempts, after) in DEFAULT_RETRY.items():
        given = stored.get(outcome) or {}
        rules[outcome] = RetryRule(int(given.get("attempts", attempts)), int(given.get("after_minutes", after)))
    return rules


@dataclass(frozen=True)
class NextStep:
    status: str  # pending (tried again at next_at) or done
    next_at: dt.datetime | None


def after_attempt(outcome: str, counts: Mapping[str, int], rules: Mapping[str, RetryRule],
                  now: dt.datetime) -> NextStep:
    """Where a number goes after an attempt ended with `outcome`; `counts`: its attempts per outcome,
    this one included."""
    if outcome == CANCELLED_ATTEMPT:
        return NextStep("pending", now)
    rule = rules.get(outcome)
    if rule is None or counts.get(outcome, 0) >= rule.attempts:
        return NextStep("done", None)
    return NextStep("pending", now + dt.timedelta(minutes=rule.after_minutes))


# Answering-machine detection: Asterisk's AMD() arguments in its order (app_amd), in ms but the word counts.
AMD_PARAMETERS = ("initial_silence", "greeting", "after_greeting_silence", "total_analysis_time",
                  "minimum_word_length", "between_words_silence", "maximum_number_of_words",
                  "silence_threshold", "maximum_word_length")
AMD_DEFAULTS = {"initial_silence": 2500, "greeting": 1500, "after_greeting_silence": 800,
                "total_analysis_time": 5000, "minimum_word_length": 100, "between_words_silence": 50,
                "maximum_number_of_words": 3, "silence_threshold": 256, "maximum_word_length": 5000}
_AMD_LIMITS = {"maximum_number_of_words": (1, 20), "silence_threshold": (1, 32767)}


def amd_limits(name: str) -> tuple[int, int]:
    """The lowest and highest value AMD's parameter `name` may take (one of AMD_PARAMETERS)."""
    return _AMD_LIMITS.get(name, (10, 30000))


def amd_settings(stored: Mapping | None) -> dict[str, int]:
    """The campaign's AMD settings, each filled from the defaults and checked against its range."""
    stored = stored or {}
    settings = {}
    for name in AMD_PARAMETERS:
        value = int(stored.get(name, AMD_DEFAULTS[name]))
        low, high = amd_limits(name)
        if not low <= value <= high:
            raise CampaignError(f"{name} must be between {low} and {high}")
        settings[name] = value
    return settings


def amd_arguments(settings: Mapping[str, int]) -> str:
    """AMD()'s argument list, as the dialplan's pbxcrm-campaign-amd context passes it on."""
    return ",".join(str(settings[name]) for name in AMD_PARAMETERS)


def outcome_of_amd(status: str) -> str | None:
    """AMDSTATUS -> MACHINE for a machine; None: a person (HUMAN), or AMD could not tell (NOTSURE,
    HANGUP is the called person hanging up: ended by the channel's own end)."""
    return MACHINE if status == "MACHINE" else None
