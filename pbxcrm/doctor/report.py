"""The doctor's verdicts as the admin reads them: one line per check (coloured on a terminal), or JSON."""

from __future__ import annotations

import json
from collections import Counter

from crm.i18n import _, ngettext, pgettext
from pbxcrm.doctor.checks import TITLES
from pbxcrm.doctor.facts import Status, Verdict

_COLOURS = {Status.OK: "\033[32m", Status.WARN: "\033[33m", Status.FAIL: "\033[31m", Status.SKIP: "\033[2m"}
_RESET = "\033[0m"


def status_word(status: Status) -> str:
    return {
        Status.OK: pgettext("doctor", "OK"),
        Status.WARN: pgettext("doctor", "WARNING"),
        Status.FAIL: pgettext("doctor", "FAILED"),
        Status.SKIP: pgettext("doctor", "SKIPPED"),
    }[status]


def failed(verdicts: list[Verdict]) -> bool:
    return any(v.status == Status.FAIL for v in verdicts)


def summary(verdicts: list[Verdict]) -> str:
    counts = Counter(v.status for v in verdicts)
    if not counts[Status.FAIL] and not counts[Status.WARN]:
        return _("Everything checked is in order.")
    parts = []
    if counts[Status.FAIL]:
        parts.append(ngettext("%(count)d check failed", "%(count)d checks failed", counts[Status.FAIL])
                     % {"count": counts[Status.FAIL]})
    if counts[Status.WARN]:
        parts.append(ngettext("%(count)d warning", "%(count)d warnings", counts[Status.WARN])
                     % {"count": counts[Status.WARN]})
    return ", ".join(parts) + "."


def text(verdicts: list[Verdict], colour: bool) -> str:
    words = {v.status: status_word(v.status) for v in verdicts}
    width = max((len(w) for w in words.values()), default=0)
    lines = []
    for v in verdicts:
        word = words[v.status].ljust(width)
        if colour:
            word = f"{_COLOURS[v.status]}{word}{_RESET}"
        lines.append(f"{word}  {_(TITLES[v.check])}: {v.text}")
    lines.append(summary(verdicts))
    return "\n".join(lines) + "\n"


def as_json(verdicts: list[Verdict], language: str) -> str:
    return json.dumps({
        "ok": not failed(verdicts),
        "language": language,
        "checks": [{"check": v.check, "title": _(TITLES[v.check]), "status": str(v.status), "text": v.text}
                   for v in verdicts],
        "summary": summary(verdicts),
    }, ensure_ascii=False, indent=2) + "\n"
