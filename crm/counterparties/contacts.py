"""Contact values: what a user typed, and the one form used for uniqueness and lookup."""

from __future__ import annotations

import re

from crm.phones import InvalidPhone, normalize_phone

KINDS = ("phone", "email", "site", "skype", "fax", "social", "messenger")
KIND_LABELS = {"phone": "Phone", "email": "E-mail", "site": "Website", "skype": "Skype", "fax": "Fax",
               "social": "Social page", "messenger": "Messenger"}
PHONE_KINDS = ("phone", "fax")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SITE = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$")


class InvalidContact(ValueError):
    pass


def normalize_contact(kind: str, value: str, default_region: str) -> str:
    """The stored key of a contact; raises InvalidContact with a message for the user."""
    text = (value or "").strip()
    if kind not in KINDS:
        raise InvalidContact(f"unknown contact type {kind!r}")
    if not text:
        raise InvalidContact("the value is empty")
    if len(text) > 300:
        raise InvalidContact("the value is longer than 300 characters")
    if kind in PHONE_KINDS:
        try:
            return normalize_phone(text, default_region)
        except InvalidPhone as e:
            raise InvalidContact(str(e)) from None
    lowered = text.lower()
    if kind == "email":
        if not _EMAIL.match(lowered):
            raise InvalidContact(f"{text!r} is not an e-mail address")
        return lowered
    if kind == "site":
        site = re.sub(r"^https?://", "", lowered).removeprefix("www.").rstrip("/")
        if not _SITE.match(site):
            raise InvalidContact(f"{text!r} is not a website address")
        return site
    # Skype names, social pages, messenger ids: case does not make them different.
    return lowered
