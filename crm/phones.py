"""Phone numbers: one stored form (E.164) for every written form of a number.

`8 (495) 123-45-67`, `+7 495 123 45 67` and `74951234567` are one number;
internal extensions (short numbers) stay as they are.
"""

from __future__ import annotations

import re

import phonenumbers

# Extensions and short service numbers: never an E.164 number.
MAX_INTERNAL_LENGTH = 6
_ALLOWED = re.compile(r"^[\d\s()+\-./]+$")


class InvalidPhone(ValueError):
    """The text is not a phone number we can store or match."""


def normalize_phone(raw: str, default_region: str = "RU") -> str:
    """The E.164 form of `raw` (or the digits of an internal short number).

    Raises InvalidPhone with a message fit to show the user.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("the phone number is empty")
    if not _ALLOWED.match(text):
        raise InvalidPhone(f"{raw!r} is not a phone number: only digits, spaces, + ( ) - . / are allowed")
    digits = re.sub(r"\D", "", text)
    if not digits:
        raise InvalidPhone(f"{raw!r} has no digits")
    if not text.startswith("+") and len(digits) <= MAX_INTERNAL_LENGTH:
        return digits
    candidates = [text]
    # A full international number written without "+" (74951234567, 380441234567):
    # try it as such when the national reading is not a valid number.
    if not text.startswith("+"):
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhone(f"{raw!r} is not a valid phone number")


def caller_match_key(raw: str, default_region: str = "RU") -> str | None:
    """The key to look a caller up by, or None when the PBX sent no usable number.

    Unlike normalize_phone it never raises: the call path must go on with an
    anonymous or odd caller ID.
    """
    try:
        return normalize_phone(raw, default_region)
    except InvalidPhone:
        return None
