"""Outbound dial rules (issue 15): the number a user dials, rewritten for the trunk.

A rule has a pattern, digits to strip from the front, digits to prepend, and the trunk to
use (None: the default, PBXCRM_TRUNK). Rules are tried in order (position, then id); the
first whose pattern matches rewrites the number; none matching, the number goes out as it
is through the default trunk. `+7XXXXXXXXXX`, strip 2, prepend 8: +74951234567 -> 84951234567.

Patterns, as in Asterisk's dialplan: X is any digit, Z 1-9, N 2-9, any other character is
itself; a trailing `.` matches one or more further characters (a prefix: `810.`). A pattern
that starts with `+` matches the number's international form, however it was dialled
(`8 495 ...`, `74951234567` from click-to-call, `+7 495 ...`), and strips from that form;
any other pattern matches the number as dialled.

Pure: no I/O. Saving checks a rule (`RuleInput.cleaned`), and refuses one that would leave
nothing to dial; a rule met anyway that leaves nothing (written straight into the
database) is passed over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm.errors import ValidationError
from crm.i18n import _
from crm.phones import caller_match_key

_DIGITS_OF = {"X": "0123456789", "Z": "123456789", "N": "23456789"}
PATTERN = re.compile(r"^(\+?[0-9XZN*#]+\.?|\+?\.)$")
PREPEND = re.compile(r"^\+?[0-9*#]{0,20}$")
TRUNK = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
STRIP_MAX = 20
POSITION_MAX = 9999
NOTE_MAX = 100


@dataclass(frozen=True)
class DialRule:
    pattern: str
    strip: int = 0
    prepend: str = ""
    trunk: str | None = None  # None: the default trunk
    position: int = 100
    id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Dialling:
    """What goes to the trunk: the number, the trunk's endpoint, and the rule that made it (None: no rule)."""

    number: str
    trunk: str
    rule: DialRule | None = None


def matches(pattern: str, number: str) -> bool:
    body, prefix = (pattern[:-1], True) if pattern.endswith(".") else (pattern, False)
    if len(number) < len(body) + (1 if prefix else 0) or (not prefix and len(number) != len(body)):
        return False
    for symbol, char in zip(body, number):
        digits = _DIGITS_OF.get(symbol)
        if digits is None and char != symbol:
            return False
        if digits is not None and char not in digits:
            return False
    return True


def shortest_match(pattern: str) -> int:
    """The length of the shortest number the pattern matches (a trailing '.' stands for one or more)."""
    return len(pattern)


def rewrite(rule: DialRule, number: str) -> str:
    return rule.prepend + number[rule.strip:]


def ordered(rules: Iterable[DialRule]) -> list[DialRule]:
    return sorted(rules, key=lambda r: (r.position, r.id if r.id is not None else 0))


def dialling(number: str, rules: Iterable[DialRule], *, default_trunk: str, region: str) -> Dialling:
    """The first matching rule's rewrite of `number`, or `number` itself through the default trunk."""
    international = _international(number, region)
    for rule in ordered(rules):
        candidate = international if rule.pattern.startswith("+") else number
        if candidate is None or not matches(rule.pattern, candidate):
            continue
        rewritten = rewrite(rule, candidate)
        if rewritten:
            return Dialling(rewritten, rule.trunk or default_trunk, rule)
    return Dialling(number, default_trunk, None)


def _international(number: str, region: str) -> str | None:
    """+74951234567 for any written form of it; None for a short or unknown number."""
    key = caller_match_key(number, region)
    if key and key.startswith("+"):
        return key
    return number if number.startswith("+") else None


@dataclass(frozen=True)
class RuleInput:
    """A rule as an admin typed it (web/views/dial_rules.py)."""

    pattern: str
    strip: int | None = 0
    prepend: str = ""
    trunk: str = ""
    position: int | None = 100
    note: str = ""

    def cleaned(self) -> DialRule:
        errors: dict[str, str] = {}
        pattern = re.sub(r"\s", "", self.pattern).upper()
        prepend = re.sub(r"\s", "", self.prepend)
        trunk = self.trunk.strip()
        strip = 0 if self.strip is None else self.strip
        position = 100 if self.position is None else self.position
        if not PATTERN.match(pattern):
            errors["pattern"] = _("a pattern is digits and X (any digit), Z (1-9), N (2-9), * and #, "
                                  "maybe + first and . last (any further digits), e.g. +7XXXXXXXXXX or 810.")
        if not 0 <= strip <= STRIP_MAX:
            errors["strip"] = _("strip 0 to %(max)d digits") % {"max": STRIP_MAX}
        if not PREPEND.match(prepend):
            errors["prepend"] = _("prepend up to 20 digits, * or #, maybe + first")
        if trunk and not TRUNK.match(trunk):
            errors["trunk"] = _("a trunk is the name of a PJSIP endpoint: letters, digits, '.', '-' and '_'")
        if not 1 <= position <= POSITION_MAX:
            errors["position"] = _("the order is 1 to %(max)d") % {"max": POSITION_MAX}
        if len(self.note.strip()) > NOTE_MAX:
            errors["note"] = _("a note is at most %(max)d characters") % {"max": NOTE_MAX}
        if not errors and not prepend and strip >= shortest_match(pattern):
            errors["strip"] = _("this rule would leave nothing to dial: it matches numbers of %(length)d "
                                "characters, strips %(strip)d and prepends nothing") % {
                "length": shortest_match(pattern), "strip": strip}
        if errors:
            raise ValidationError(errors)
        return DialRule(pattern=pattern, strip=strip, prepend=prepend, trunk=trunk or None, position=position,
                        note=self.note.strip())
