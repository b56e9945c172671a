"""Importing counterparties with their contacts (A8): every row checked first,
duplicates by contact reported, not doubled."""

from __future__ import annotations

from dataclasses import dataclass, fields

import asyncpg

from crm import sections, tags
from crm.counterparties import permissions as perm
from crm.counterparties import queries as cq
from crm.counterparties import service, statuses
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.errors import DomainError
from crm.i18n import _, gettext
from crm.imports.common import reason, tag_ids, usable_tags
from crm.imports.reader import columns
from crm.phones import is_extension_only
from crm.users import queries as users_q

ALIASES = {
    "last_name": ("last name", "last_name", "surname", "фамилия"),
    "first_name": ("first name", "first_name", "name", "имя"),
    "patronymic": ("patronymic", "отчество"),
    "company_name": ("company", "company name", "company_name", "компания", "организация"),
    "member_of": ("member of", "group", "группа"),
    "phones": ("phone", "phones", "телефон", "телефоны"),
    "emails": ("e-mail", "email", "emails", "e-mails", "почта"),
    "remark": ("remark", "примечание"),
    "comment": ("comment", "комментарий"),
    "status": ("status", "статус"),
    "responsible": ("responsible", "manager", "ответственный", "менеджер"),
    # Issue 20 (A8): every contact kind, addresses and tags.
    "sites": ("site", "sites", "website", "websites", "сайт", "сайты"),
    "skypes": ("skype", "скайп"),
    "faxes": ("fax", "faxes", "факс", "факсы"),
    "socials": ("social", "social page", "social pages", "соцсеть", "соцсети"),
    "messengers": ("messenger", "messengers", "мессенджер", "мессенджеры"),
    "addresses": ("address", "addresses", "адрес", "адреса"),
    "tags": ("tag", "tags", "тег", "теги"),
}
# A contact column and its kind; "phones" and "emails" first, as before.
CONTACT_COLUMNS = (("phones", "phone"), ("emails", "email"), ("sites", "site"), ("skypes", "skype"),
                   ("faxes", "fax"), ("socials", "social"), ("messengers", "messenger"))


@dataclass(frozen=True)
class ImportedCounterparty(CounterpartyInput):
    """A checked row: the card, and the tags to put on it once it exists."""
    tag_ids: tuple[int, ...] = ()


def _split(value) -> list[str]:
    text = "" if value is None else str(value)
    parts: list[str] = []
    for p in text.replace(";", ",").replace("\n", ",").split(","):
        p = p.strip()
        if parts and is_extension_only(p):
            parts[-1] += f", {p}"  # "8 495 123-45-67, доб. 123" is one number with its extension
        elif p:
            parts.append(p)
    return parts


def _status(codes: dict[str, str], written: str) -> str:
    """A live status written as its code or its words, any case; blank: the default."""
    if not written:
        return statuses.DEFAULT
    code = codes.get(written.lower())
    if code is None:
        raise DomainError(_("no status called %(name)s") % {"name": repr(written)})
    return code


async def check(conn: asyncpg.Connection, header: list[str], rows, region: str, progress,
                importer) -> tuple[list, list]:
    """([(row, CounterpartyInput)], [(row, reason)]). A row naming a manager the importer may
    not assign (the rule editing and creating follow) is rejected like any other bad row."""
    where = columns(header, ALIASES)
    if not ({"last_name", "first_name", "company_name"} & where.keys()):
        return [], [(1, _("no name column: expected Last name / First name or Company"))]
    logins = await users_q.active_logins(conn)
    status_codes = await statuses.by_words(conn)  # a live status by its code or its words
    words = await sections.load(conn)  # the messages name the renamed sections
    usable = await usable_tags(conn, importer)
    companies = {r["name"]: r["id"] for r in await conn.fetch(
        "SELECT lower(company_name) AS name, id FROM counterparties WHERE kind = 'company' AND deleted_at IS NULL")}
    valid, rejected = [], []
    seen: dict[tuple[str, str | None], int] = {}
    for i, (number, values) in enumerate(rows):
        def get(field, values=values):
            index = where.get(field)
            value = values[index] if index is not None and index < len(values) else None
            return "" if value is None else str(value).strip()
        try:
            responsible = None
            if get("responsible"):
                responsible = logins.get(get("responsible").lower())
                if responsible is None:
                    raise DomainError(_("no active user with login %(login)s") % {"login": repr(get("responsible"))})
                if not perm.can_assign_responsible(importer, responsible, None):
                    raise DomainError(_("you may not make %(login)s responsible: %(reason)s") % {
                        "login": repr(get("responsible")), "reason": gettext(perm.GIVE_AWAY_REFUSED)})
            member_of: tuple[int, ...] = ()
            if get("member_of"):
                company = companies.get(get("member_of").lower())
                if company is None:
                    raise DomainError(_("no company called %(name)s") % {"name": repr(get("member_of"))})
                member_of = (company,)
            is_company = bool(get("company_name")) and not (get("last_name") or get("first_name"))
            contacts = tuple(ContactInput(kind, v) for column, kind in CONTACT_COLUMNS for v in _split(get(column)))
            addresses = tuple(a.strip() for a in get("addresses").split(";") if a.strip())
            inp = CounterpartyInput(
                kind="company" if is_company else "client", last_name=get("last_name"), first_name=get("first_name"),
                patronymic=get("patronymic"), company_name=get("company_name") if is_company else "",
                status=_status(status_codes, get("status")), responsible_user_id=responsible, remark=get("remark"),
                comment=get("comment"), contacts=contacts, company_ids=member_of,
                addresses=addresses).cleaned(words)
            inp = ImportedCounterparty(**{f.name: getattr(inp, f.name) for f in fields(CounterpartyInput)},
                                       tag_ids=tag_ids(usable, get("tags")))
            keys = inp.normalized_contacts(region)
            for contact, key in keys:
                # A number with another extension is another contact (an office's switchboard).
                if (key, contact.extension) in seen:
                    raise DomainError(_("%(contact)s is also on row %(row)d of this file")
                                      % {"contact": contact.value, "row": seen[key, contact.extension]})
                owner = await cq.contact_owner(conn, key, contact.extension)
                if owner is not None:
                    raise DomainError(_("%(contact)s already belongs to %(owner)s")
                                      % {"contact": contact.value, "owner": owner["display_name"]})
            for contact, key in keys:
                seen[key, contact.extension] = number
            valid.append((number, inp))
        except DomainError as e:
            rejected.append((number, reason(e)))
        if i % 100 == 99:
            await progress(checked=i + 1)
    return valid, rejected


async def apply(conn: asyncpg.Connection, user, row: CounterpartyInput, region: str) -> None:
    new_id = await service.create(conn, user, row, region)
    for tag_id in getattr(row, "tag_ids", ()):
        await tags.set_tag(conn, user, "counterparty", new_id, tag_id, on=True)
