"""Phone numbers: one stored form (E.164) for every written form of a number.

`8 (495) 123-45-67`, `+7 495 123 45 67`, `74951234567` and `0074951234567` are
one number; internal extensions (short numbers) stay as they are. A number may
end with an extension (`доб. 123`, `ext. 123`, `x123`, `#123`, `,123`): it is
split off (`split_extension`, `parse_phone`) and kept apart, since no call
carries it; the number itself is the main number's E.164.
"""

from __future__ import annotations

import re

import phonenumbers

from crm.defaults import DEFAULT_REGION
from crm.i18n import _

# Extensions and short service numbers: never an E.164 number.
MAX_INTERNAL_LENGTH = 6
_ALLOWED = re.compile(r"^[\d\s()+\-./]+$")


EXTENSION_MAX_DIGITS = 8
_MARK = r"#|\b(?:доб|добавочный|ext|extension|вн)\b\.?|x"
# The main number, then: "доб." / "доб" / "ext." / "ext" / "extension" / "вн." / "x" / "#" / ","
# and the extension's digits, at the very end.
_EXTENSION = re.compile(
    r"^(?P<main>.*?\d.*?)\s*(?:,\s*(?:%s)?|(?:%s))\s*(?P<ext>\d{1,%d})\s*$"
    % (_MARK, _MARK, EXTENSION_MAX_DIGITS), re.IGNORECASE)


# A piece of text that is nothing but an extension ("доб. 123", "ext 5", "#12").
_EXTENSION_ONLY = re.compile(r"^(?:%s)\s*\d{1,%d}$" % (_MARK, EXTENSION_MAX_DIGITS), re.IGNORECASE)


class InvalidPhone(ValueError):
    """The text is not a phone number we can store or match."""


def split_extension(raw: str) -> tuple[str, str | None]:
    """(`the main number as written`, `its extension's digits` or None).

    `8 495 123-45-67 доб. 123` -> (`8 495 123-45-67`, `123`); text without an
    extension comes back whole, with None.
    """
    text = (raw or "").strip()
    m = _EXTENSION.match(text)
    if m is None:
        return text, None
    return m.group("main").strip(), m.group("ext")


def is_extension_only(text: str) -> bool:
    """True for `доб. 123`, `ext 5`, `#12`: an extension cut off its number (e.g. by a comma)."""
    return bool(_EXTENSION_ONLY.match((text or "").strip()))


def phone_text(number: str, extension: str | None) -> str:
    """How a number with its extension is shown: `8 495 123-45-67, ext. 123`."""
    return f"{number}, ext. {extension}" if extension else number


def parse_phone(raw: str, default_region: str = DEFAULT_REGION) -> tuple[str, str | None]:
    """(`E.164 of the main number`, `extension` or None); raises InvalidPhone."""
    main, extension = split_extension(raw)
    return _normalize_main(main, raw, default_region), extension


def normalize_phone(raw: str, default_region: str = DEFAULT_REGION) -> str:
    """The E.164 form of `raw` (or the digits of an internal short number); an extension
    written after the number is left out (see parse_phone to keep it).

    Raises InvalidPhone with a message fit to show the user.
    """
    return _normalize_main(split_extension(raw)[0], raw, default_region)


def _normalize_main(text: str, raw: str, default_region: str) -> str:
    """`text`, a number without an extension, as E.164; `raw` is what the user wrote, for messages."""
    if not text:
        raise InvalidPhone(_("the phone number is empty"))
    if not _ALLOWED.match(text):
        raise InvalidPhone(_("%(value)s is not a phone number: only digits, spaces, + ( ) - . / are allowed, "
                             "and an extension after it (доб. 123, ext. 123)") % {"value": repr(raw)})
    digits = re.sub(r"\D", "", text)
    if not digits:
        raise InvalidPhone(_("%(value)s has no digits") % {"value": repr(raw)})
    if not text.startswith("+") and len(digits) <= MAX_INTERNAL_LENGTH:
        return digits
    candidates = [text]
    if not text.startswith("+") and digits.startswith("00"):
        # "00" is how most of the world dials "+" (0074951234567, 00375291234567); phonenumbers
        # knows only the default region's own prefix (810 in Russia).
        candidates = ["+" + digits[2:]]
    elif not text.startswith("+"):
        # A full international number written without "+" (74951234567, 380441234567):
        # try it as such when the national reading is not a valid number.
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhone(_("%(value)s is not a valid phone number") % {"value": repr(raw)})


def caller_match_key(raw: str, default_region: str = DEFAULT_REGION) -> str | None:
    """The key to look a caller up by, or None when the PBX sent no usable number.

    Unlike normalize_phone it never raises: the call path must go on with an
    anonymous or odd caller ID.
    """
    try:
        return normalize_phone(raw, default_region)
    except InvalidPhone:
        return None
