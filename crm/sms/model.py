"""What an SMS is, without I/O: its statuses and their transitions, and how a text is split.

A message going out is queued, then a sender worker claims it (submitting), hands every part to the
gateway (submitted) and the gateway's delivery receipts finish it. A message ends in exactly one final
status; a late or repeated receipt never moves it back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

QUEUED, SUBMITTING, SUBMITTED = "queued", "submitting", "submitted"
DELIVERED, UNDELIVERED, EXPIRED, FAILED, RECEIVED = "delivered", "undelivered", "expired", "failed", "received"

FINAL = frozenset({DELIVERED, UNDELIVERED, EXPIRED, FAILED, RECEIVED})
STATUSES = (QUEUED, SUBMITTING, SUBMITTED, DELIVERED, UNDELIVERED, EXPIRED, FAILED, RECEIVED)

_NEXT: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SUBMITTING, FAILED}),
    # Back to queued: a retryable refusal (throttled, bind lost before the submit was answered).
    SUBMITTING: frozenset({SUBMITTED, QUEUED, FAILED}),
    # A receipt can come before the worker recorded the submit's answer: submitted may be skipped.
    SUBMITTED: frozenset({DELIVERED, UNDELIVERED, EXPIRED, FAILED}),
}


def can_move(current: str, new: str) -> bool:
    if current == SUBMITTING and new in (DELIVERED, UNDELIVERED, EXPIRED):
        return True
    return new in _NEXT.get(current, frozenset())


def combined_status(part_statuses: list[str]) -> str | None:
    """A message's status from its parts' receipts: delivered when every part is; undelivered or
    expired as soon as one part is (the reader got a broken text); None while some are outstanding."""
    for bad in (UNDELIVERED, EXPIRED, FAILED):
        if bad in part_statuses:
            return bad
    if part_statuses and all(s == DELIVERED for s in part_statuses):
        return DELIVERED
    return None


# GSM 03.38 basic set and its extension table (each extension character costs two septets).
# GSM7_TABLE is in code order (character i is code i); GSM7_ESCAPED maps an extension character to
# the code that follows the escape (0x1B).
GSM7_TABLE = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_ESCAPED = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
                "|": 0x40, "€": 0x65}
_GSM7_BASIC = set(GSM7_TABLE)
_GSM7_EXTENSION = set(GSM7_ESCAPED)

GSM7, UCS2 = "gsm7", "ucs2"


@dataclass(frozen=True)
class Split:
    encoding: str  # gsm7 | ucs2
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    parts: int


def encoding_of(text: str) -> str:
    return GSM7 if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text) else UCS2


def split(text: str) -> Split:
    """How many SMS parts `text` takes: one part holds 160 GSM-7 septets or 70 UCS-2 units; a long
    text's parts lose 7 septets / 3 units each to the concatenation header (UDH)."""
    encoding = encoding_of(text)
    if encoding == GSM7:
        units = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    parts = 1 if units <= single else math.ceil(units / multi)
    return Split(encoding, units, parts)


def is_stop_word(text: str) -> bool:
    """An incoming reply that opts the sender out of SMS (I2): STOP, СТОП and their usual kin."""
    return text.strip().strip(".!").casefold() in {"stop", "стоп", "unsubscribe", "отписаться", "отписка"}
