"""Contact values: what a user typed, and the one form used for uniqueness and lookup."""

from __future__ import annotations

import re

from crm.i18n import _, ngettext
from crm.phones import InvalidPhone, normalize_phone

KINDS = ("phone", "email", "site", "skype", "fax", "social", "messenger")  # in words: crm/labels.py CONTACT_KIND
PHONE_KINDS = ("phone", "fax")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SITE = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$")


class InvalidContact(ValueError):
    pass


def normalize_contact(kind: str, value: str, default_region: str) -> str:
    """The stored key of a contact; raises InvalidContact with a message for the user."""
    text = (value or "").strip()
    if kind not in KINDS:
        raise InvalidContact(_("unknown contact type %(kind)s") % {"kind": repr(kind)})
    if not text:
        raise InvalidContact(_("the value is empty"))
    if len(text) > 300:
        raise InvalidContact(ngettext("the value is longer than %(num)d character",
                                      "the value is longer than %(num)d characters", 300) % {"num": 300})
    if kind in PHONE_KINDS:
        try:
            return normalize_phone(text, default_region)
        except InvalidPhone as e:
            raise InvalidContact(str(e)) from None
    lowered = text.lower()
    if kind == "email":
        if not _EMAIL.match(lowered):
            raise InvalidContact(_("%(value)s is not an e-mail address") % {"value": repr(text)})
        return lowered
    if kind == "site":
        site = re.sub(r"^https?://", "", lowered).removeprefix("www.").rstrip("/")
        if not _SITE.match(site):
            raise InvalidContact(_("%(value)s is not a website address") % {"value": repr(text)})
        return site
    # Skype names, social pages, messenger ids: case does not make them different.
    return lowered
