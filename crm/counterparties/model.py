"""Input for counterparties, checked before it reaches the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm.counterparties.contacts import PHONE_KINDS, InvalidContact, normalize_contact
from crm.errors import ValidationError
from crm.i18n import _, ngettext
from crm.labels import TIMEZONE
from crm.phones import split_extension

KINDS = ("client", "company")
# The built-in statuses; the admin keeps the list (crm/counterparties/statuses.py checks a card's).
STATUSES = ("active", "potential", "inactive", "archived")
NAME_MAX = 200
STATUS_MAX = 200


@dataclass(frozen=True)
class ContactInput:
    kind: str
    value: str
    note: str = ""

    def normalized(self, region: str) -> str:
        """The stored key: for a phone, the main number's E.164 (its extension apart)."""
        return normalize_contact(self.kind, self.value, region)

    @property
    def main_value(self) -> str:
        """What is stored as the value: a phone's main number as written, without its extension."""
        return split_extension(self.value)[0] if self.kind in PHONE_KINDS else self.value.strip()

    @property
    def extension(self) -> str | None:
        """A phone's extension (`доб. 123` -> `123`), else None."""
        return split_extension(self.value)[1] if self.kind in PHONE_KINDS else None


@dataclass(frozen=True)
class CounterpartyInput:
    kind: str
    last_name: str = ""
    first_name: str = ""
    patronymic: str = ""
    company_name: str = ""
    status: str = "active"
    responsible_user_id: int | None = None
    # Callers go to this queue instead of the responsible manager (H4).
    queue_id: int | None = None
    remark: str = ""
    comment: str = ""
    # The client's own time zone (crm/labels.py TIMEZONE), for texting in their day; "" for none.
    timezone: str = ""
    contacts: tuple[ContactInput, ...] = field(default_factory=tuple)
    addresses: tuple[str, ...] = field(default_factory=tuple)
    company_ids: tuple[int, ...] = field(default_factory=tuple)

    def cleaned(self, words: Mapping[str, Any] | None = None) -> "CounterpartyInput":
        """Trimmed copy; raises ValidationError naming every wrong field. `words`: the sections' words
        (crm/sections.py load, by kind), so the messages name the renamed sections (A5)."""
        errors: dict[str, str] = {}
        client_word = words["client"].one_title if words else _("client").capitalize()
        company_word = words["company"].one_title if words else _("company").capitalize()
        if self.kind not in KINDS:
            errors["kind"] = _("must be client or company")
        names = {k: getattr(self, k).strip() for k in ("last_name", "first_name", "patronymic", "company_name")}
        for key, value in names.items():
            if len(value) > NAME_MAX:
                errors[key] = ngettext("is longer than %(num)d character", "is longer than %(num)d characters",
                                       NAME_MAX) % {"num": NAME_MAX}
        if self.kind == "company":
            if not names["company_name"]:
                errors["company_name"] = _("%(item)s: a name is needed") % {"item": company_word}
            names.update(last_name="", first_name="", patronymic="")
        elif self.kind == "client":
            if not names["last_name"] and not names["first_name"]:
                errors["last_name"] = _("%(item)s: a last or a first name is needed") % {"item": client_word}
            names["company_name"] = ""
        if not 0 < len(self.status) <= STATUS_MAX:
            errors["status"] = _("no such status, or it is archived")
        remark = self.remark.strip()
        if "\n" in remark or len(remark) > 300:
            errors["remark"] = ngettext("a remark is one line of at most %(num)d character",
                                             "a remark is one line of at most %(num)d characters", 300) % {"num": 300}
        if self.timezone and self.timezone not in TIMEZONE:
            errors["timezone"] = _("is not a time zone on the list")
        if self.kind == "company" and self.company_ids:
            errors["company_ids"] = _("%(item)s: cannot be a member of another one") % {"item": company_word}
        if errors:
            raise ValidationError(errors)
        return CounterpartyInput(
            kind=self.kind, **names, status=self.status, responsible_user_id=self.responsible_user_id,
            queue_id=self.queue_id,
            remark=remark, comment=self.comment.strip(), timezone=self.timezone, contacts=self.contacts,
            addresses=tuple(a.strip() for a in self.addresses if a.strip()),
            company_ids=tuple(dict.fromkeys(self.company_ids)),
        )

    def normalized_contacts(self, region: str) -> list[tuple[ContactInput, str]]:
        """Each contact with its stored key; raises ValidationError for bad or repeated ones."""
        out: list[tuple[ContactInput, str]] = []
        errors: dict[str, str] = {}
        seen: dict[tuple[str, str | None], str] = {}
        for i, contact in enumerate(self.contacts):
            try:
                key = contact.normalized(region)
            except InvalidContact as e:
                errors[f"contacts.{i}"] = str(e)
                continue
            if (key, contact.extension) in seen:
                errors[f"contacts.{i}"] = _("%(value)s is the same as %(other)s") % {
                    "value": repr(contact.value), "other": repr(seen[key, contact.extension])}
                continue
            seen[key, contact.extension] = contact.value
            out.append((contact, key))
        if errors:
            raise ValidationError(errors)
        return out
