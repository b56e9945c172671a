"""The route a call took, as people read it, in their language (issue 14):
"manager Ivanova did not answer in 20 s → queue Sales: answered by Petrov after 5 s",
"менеджер Иванова не ответил за 20 с → очередь Продажи: ответил оператор Петров через 5 с".

The call path stores each step (calls.route, jsonb) as codes with parameters, and the
English words beside them for logs and older readers:

    {"kind": "manager", "target_code": "manager", "name": "Ivanova", "target": "manager Ivanova",
     "code": "no_answer", "params": {"seconds": 20}, "result": "did not answer in 20 s"}

`route_text` words each step from its codes in the language in force. Steps written
before the codes (English words only) are recognised by the same wordings read as
patterns, and translated too; words it does not know are shown as they are.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm import i18n
from crm.i18n import gettext as _
from crm.i18n import pgettext

# Each wording is a function, so that it is translated when it is read (in the reader's
# language) and extracted as written; parameters are %(name)s, filled from the step.
TARGETS: dict[str, Callable[[], str]] = {
    "manager": lambda: _("manager %(name)s"),
    # Follow me (issue 15): the manager's desk did not take the call, so their mobile rings.
    "mobile": lambda: _("mobile of %(name)s"),
    "queue": lambda: _("queue %(name)s"),
    "dialplan": lambda: _("default queue (dialplan)"),
    "restart": lambda: "pbxcrm",
    "extension_named": lambda: _("extension %(number)s (%(name)s)"),
    "extension": lambda: _("extension %(number)s"),
    "number_named": lambda: "%(number)s (%(name)s)",
    "number": lambda: "%(number)s",
    # Lines and DIDs (issue 15).
    "line": lambda: _("line %(name)s"),
    "user": lambda: _("user %(name)s"),
    "nothing": lambda: "",
    # Greetings and IVR menus (issue 15).
    "menu": lambda: _("menu %(name)s"),
    "greeting": lambda: _("greeting %(name)s"),
    # A call the app did not handle, logged from Asterisk's own records (crm/cel/).
    "asterisk": lambda: "Asterisk",
    # Transfers (issue 15): "transferred by Ivanova to queue Support: answered by Petrov after 5 s".
    "transfer_user": lambda: _("transferred by %(by)s to %(name)s"),
    "transfer_queue": lambda: _("transferred by %(by)s to queue %(name)s"),
    "transfer_number": lambda: _("transferred by %(by)s to %(number)s"),
    "transfer_attended": lambda: _("transferred by %(by)s to %(name)s after a consultation"),
    "transfer_back": lambda: _("back to %(name)s"),
    "transfer_refused": lambda: _("transfer by %(by)s to %(number)s"),
}
# Most specific first: a legacy text is read as the first wording it matches.
RESULTS: dict[str, Callable[[], str]] = {
    "answered_by": lambda: _("answered by %(name)s after %(seconds)s s"),
    "answered": lambda: pgettext("call route", "answered"),
    "busy_elsewhere": lambda: _("is busy on another call"),
    "unreachable_error": lambda: _("is unreachable (%(error)s)"),
    "unreachable": lambda: _("is unreachable"),
    "caller_gone_ringing": lambda: _("was ringing when the caller hung up"),
    "caller_gone_while_ringing": lambda: _("caller hung up while it rang"),
    "caller_gone": lambda: _("caller hung up after %(seconds)s s"),
    "unreachable_cause": lambda: _("could not be reached (cause %(cause)s)"),
    "not_reached": lambda: _("could not be reached (%(error)s)"),
    "busy": lambda: _("was busy"),
    "rejected": lambda: _("rejected the call"),
    "no_answer": lambda: _("did not answer in %(seconds)s s"),
    "nobody_answered": lambda: _("nobody answered in %(seconds)s s"),
    "queue_gone": lambda: _("does not exist any more"),
    "crm_failed": lambda: _("the CRM failed while routing"),
    "crm_not_loaded": lambda: _("the CRM has no routing data yet"),
    "resumed": lambda: _("took the call up again after a restart"),
    # Lines and DIDs, business hours (issue 15): "line Promo is closed (after hours) → ...".
    "line_closed": lambda: _("is closed (after hours)"),
    "line_closed_holiday": lambda: _("is closed for a holiday"),
    "line_holiday": lambda: _("is closed for %(holiday)s"),
    "line_queue_gone": lambda: _("routes to queue %(queue)s, which is deleted: the default queue takes the call"),
    "line_user_gone": lambda: _("routes to %(user)s, who is blocked, deleted or has no extension: "
                                "the default queue takes the call"),
    "closed_hangup": lambda: _("the caller heard the closed prompt and was hung up"),
    # Greetings and IVR menus (issue 15): "menu Main: pressed 2 → queue Support: answered by ...".
    "menu_pressed": lambda: _("pressed %(digit)s"),
    "menu_no_digit": lambda: _("no digit in %(seconds)s s"),
    "menu_invalid_digit": lambda: _("invalid digit %(digit)s"),
    "menu_loop": lambda: _("went round %(times)s menus: the default queue takes the call"),
    "menu_skipped": lambda: _("skipped, the known client goes straight to manager %(manager)s"),
    "menu_hangup": lambda: _("the caller heard goodbye and was hung up"),
    "route_menu_gone": lambda: _("routes to menu %(menu)s, which is deleted: the default queue takes the call"),
    "greeting_played": lambda: _("was played"),
    "greeting_failed": lambda: _("could not be played"),
    # Issue 16: "Asterisk logged the call itself: the CRM app did not handle it".
    "from_cel": lambda: _("logged the call itself: the CRM app did not handle it"),
    "ended_in_cel": lambda: _("told how the call ended: the CRM app stopped during it"),
    # Voicemail and callback requests instead of a hang-up (issue 15): what came of the offer.
    "callback_requested": lambda: _("callback requested"),
    "callback_not_requested": lambda: _("no callback requested: the caller was hung up"),
    "caller_gone_offer": lambda: _("the caller hung up during the offer"),
    "voicemail_left": lambda: _("voicemail left (%(seconds)s s)"),
    "voicemail_too_short": lambda: _("the voicemail was too short (%(seconds)s s): none kept"),
    "voicemail_silent": lambda: _("the voicemail was silent: none kept"),
    "voicemail_lost": lambda: _("the voicemail could not be stored (%(error)s)"),
    "voicemail_failed": lambda: _("voicemail could not be recorded (%(error)s)"),
    # Transfers (issue 15).
    "connected": lambda: pgettext("call route", "connected"),
    "no_such_target": lambda: _("refused: no user has that extension and it is no number"),
    "placed_call": lambda: _("refused: calls placed by a user are not transferred"),
    "consultation_unknown": lambda: _("refused: the consultation call is not one of ours"),
}


# Steps that read "queue Sales: answered by ...", "menu Main: pressed 2"; the others "manager Ivanova did not answer".
_COLON_KINDS = ("queue", "menu")


@dataclass(frozen=True)
class Outcome:
    """What came of one step: a code of RESULTS and its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        return _english(RESULTS[self.code]) % self.params

    def __str__(self) -> str:
        return self.english()


def target_code(kind: str, *, name: str | None = None) -> str:
    """The wording of a step's target: a manager or queue by name; a dialled number or extension,
    with the name of whom it reached when known."""
    if kind == "internal":
        return "extension_named" if name else "extension"
    if kind == "outgoing":
        return "number_named" if name else "number"
    return kind


def target_english(code: str, *, name: str | None = None, number: str | None = None, by: str | None = None) -> str:
    return _english(TARGETS[code]) % {"name": name, "number": number, "by": by}


def step(kind: str, target: str, outcome: Outcome, *, name: str | None = None, number: str | None = None,
         **extra: Any) -> dict:
    """One step of calls.route: `kind` (manager | queue | note | outgoing | internal) sets how it
    reads ("queue X: result", "manager X result"); `target` is a code of TARGETS."""
    out: dict[str, Any] = {"kind": kind, "target_code": target,
                           "target": target_english(target, name=name, number=number, by=extra.get("by")),
                           "code": outcome.code, "params": outcome.params, "result": outcome.english()}
    if name is not None:
        out["name"] = name
    if number is not None:
        out["number"] = number
    return {**out, **extra}


def outcome_of_text(text: str) -> Outcome | None:
    """The outcome an English result text says ("did not answer in 20 s" -> no_answer, 20), or None."""
    for code, pattern in _result_patterns():
        m = pattern.match(text)
        if m:
            return Outcome(code, m.groupdict())
    return None


def route_text(steps) -> str:
    """The route in the language in force; "" for none."""
    if isinstance(steps, str):
        steps = json.loads(steps)
    parts = []
    for s in steps or []:
        target, result = _step_words(s)
        colon = s.get("kind") in _COLON_KINDS or str(s.get("target_code", "")).startswith("transfer")
        parts.append(f"{target}: {result}" if colon else f"{target} {result}".strip())
    return " → ".join(parts)


def _step_words(s: dict) -> tuple[str, str]:
    target, result = str(s.get("target", "?")), str(s.get("result", ""))
    code, params = s.get("code"), s.get("params")
    if code in RESULTS and isinstance(params, dict):
        result = _filled(RESULTS[code], params, result)
    else:
        outcome = outcome_of_text(result)
        if outcome is not None:
            result = _filled(RESULTS[outcome.code], outcome.params, result)
    if s.get("target_code") in TARGETS:
        target = _filled(TARGETS[s["target_code"]], {"name": s.get("name"), "number": s.get("number"),
                                                     "by": s.get("by")}, target)
    else:
        for code, pattern in _target_patterns():
            m = pattern.match(target)
            if m:
                target = _filled(TARGETS[code], m.groupdict(), target)
                break
    return target, result


def _filled(wording: Callable[[], str], params: dict, fallback: str) -> str:
    try:
        return wording() % params
    except (KeyError, TypeError, ValueError):  # a step written by hand or by a newer version
        return fallback


def _english(wording: Callable[[], str]) -> str:
    with i18n.using("en"):
        return wording()


def _pattern(english: str) -> re.Pattern:
    """"did not answer in %(seconds)s s" -> ^did not answer in (?P<seconds>.+?) s$"""
    parts = re.split(r"%\((\w+)\)s", english)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


@functools.cache
def _result_patterns() -> list[tuple[str, re.Pattern]]:
    return [(code, _pattern(_english(wording))) for code, wording in RESULTS.items()]


@functools.cache
def _target_patterns() -> list[tuple[str, re.Pattern]]:
    # A bare number needs no words: nothing to translate.
    return [(code, _pattern(_english(wording))) for code, wording in TARGETS.items()
            if code not in ("number", "number_named")]
