"""The names of the Clients and Companies sections, per language (A5, issue 14).

An admin renames the sections (Regions, Dealers, Departments…) in each language the CRM
speaks: the section's name ("Clients": the nav, the list's heading), the word for one card
of it ("client": "New client", "already belongs to client …") and, for Russian, that
word's gender, which the words around it follow ("Новый клиент", "Новая компания").

Stored in app_settings 'section.clients' and 'section.companies' as
    {"en": {"name": "Regions", "one": "region"}, "ru": {"name": "Регионы", "one": "регион", "gender": "m"}}
where anything missing or blank is that language's default: the catalogue's "Clients" /
"client", "Companies" / "company". A plain string, as stored before names were per language,
is the section's name in every language (the admin's rename is kept for all readers); the
word for one card then stays each language's default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from crm import audit
from crm.errors import ValidationError
from crm.i18n import LANGUAGES, N_, gettext, ngettext, pgettext, using

# A section per counterparty kind; the app_settings key of its names is "section.<section>".
SECTION_OF_KIND = {"client": "clients", "company": "companies"}
SECTIONS = tuple(SECTION_OF_KIND.values())
GENDERS = ("m", "f", "n")
NAME_MAX = 40
# The defaults: the section's name and one card's word, in English (translated by the
# catalogue), and the gender of the Russian default word (клиент, компания).
_DEFAULTS = {"clients": (N_("Clients"), N_("client"), "m"), "companies": (N_("Companies"), N_("company"), "f")}


@dataclass(frozen=True)
class Section:
    """One section's words in one language; its phrases are in the language in force."""

    key: str     # "clients" | "companies"
    name: str    # the section: "Clients"
    one: str     # one card of it, as written mid-sentence: "client"
    gender: str  # "m" | "f" | "n": of `one`, for languages whose words agree with it

    @property
    def one_title(self) -> str:
        """`one` at the start of a line: "Client"."""
        return self.one[:1].upper() + self.one[1:]

    def _gendered(self, masculine: str, feminine: str, neuter: str, **values: str) -> str:
        text = {"m": masculine, "f": feminine, "n": neuter}.get(self.gender, masculine)
        return text % {"item": self.one, **values}

    def new(self) -> str:
        """'New client': the list's button, the new card form's heading."""
        return self._gendered(pgettext("masculine", "New %(item)s"), pgettext("feminine", "New %(item)s"),
                              pgettext("neuter", "New %(item)s"))

    def new_here(self) -> str:
        """'New client here': on a company's card, a new client in this company."""
        return self._gendered(pgettext("masculine", "New %(item)s here"), pgettext("feminine", "New %(item)s here"),
                              pgettext("neuter", "New %(item)s here"))

    def edit(self) -> str:
        return gettext("Edit %(item)s") % {"item": self.one}

    def not_found(self) -> str:
        """'no such company': a card of this section that is not there."""
        return self._gendered(pgettext("masculine", "no such %(item)s"), pgettext("feminine", "no such %(item)s"),
                              pgettext("neuter", "no such %(item)s"))

    def not_one_called(self, name: str) -> str:
        """No card, or more than one, of this section has this name."""
        return self._gendered(pgettext("masculine", "no single %(item)s is called %(name)s"),
                              pgettext("feminine", "no single %(item)s is called %(name)s"),
                              pgettext("neuter", "no single %(item)s is called %(name)s"), name=repr(name))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def resolve(key: str, stored: Any, language: str) -> Section:
    """The section's words in `language`: the admin's where given, else the catalogue's."""
    default_name, default_one, gender = _DEFAULTS[key]
    with using(language):
        name, one = gettext(default_name), gettext(default_one)
    if isinstance(stored, str):
        name = _text(stored) or name
    elif isinstance(stored, dict) and isinstance(stored.get(language), dict):
        mine = stored[language]
        name = _text(mine.get("name")) or name
        one = _text(mine.get("one")) or one
        gender = mine.get("gender") if mine.get("gender") in GENDERS else gender
    return Section(key, name, one, gender)


def by_kind(stored: dict[str, Any], language: str) -> dict[str, Section]:
    """{"client": Section, "company": Section} from {"clients": stored value, ...}."""
    return {kind: resolve(key, stored.get(key), language) for kind, key in SECTION_OF_KIND.items()}


async def stored(conn: asyncpg.Connection) -> dict[str, Any]:
    """{"clients": what app_settings holds or None, "companies": ...}."""
    rows = await conn.fetch("SELECT key, value FROM app_settings WHERE key = ANY($1::text[])",
                            [f"section.{key}" for key in SECTIONS])
    values: dict[str, Any] = dict.fromkeys(SECTIONS)
    values.update({r["key"].removeprefix("section."): json.loads(r["value"]) for r in rows})
    return values


async def load(conn: asyncpg.Connection, language: str | None = None) -> dict[str, Section]:
    """The sections by counterparty kind, in `language` (default: the one in force)."""
    from crm.i18n import current

    return by_kind(await stored(conn), language or current())


def form_values(stored_values: dict[str, Any]) -> dict[str, dict[str, Section]]:
    """{section key: {language: Section}}: what the admin's form shows, defaults filled in."""
    return {key: {lang: resolve(key, stored_values.get(key), lang) for lang in LANGUAGES} for key in SECTIONS}


@dataclass(frozen=True)
class Names:
    """What an admin typed for one section in one language; blank is the default."""

    name: str = ""
    one: str = ""
    gender: str = ""


async def save(conn: asyncpg.Connection, user_id: int, names: dict[str, dict[str, Names]]) -> None:
    """names: {"clients": {"en": Names(...), "ru": Names(...)}, "companies": {...}}.

    Raises ValidationError keyed "<section>.<language>.<name|one|gender>"."""
    errors: dict[str, str] = {}
    values: dict[str, dict[str, dict[str, str]]] = {}
    for key in SECTIONS:
        values[key] = {}
        for language, given in names.get(key, {}).items():
            if language not in LANGUAGES:
                continue
            entry = {"name": given.name.strip(), "one": given.one.strip()}
            for field, text in entry.items():
                if len(text) > NAME_MAX:
                    errors[f"{key}.{language}.{field}"] = ngettext(
                        "is longer than %(num)d character", "is longer than %(num)d characters",
                        NAME_MAX) % {"num": NAME_MAX}
            if given.gender:
                if given.gender not in GENDERS:
                    errors[f"{key}.{language}.gender"] = gettext("must be masculine, feminine or neuter")
                entry["gender"] = given.gender
            values[key][language] = {k: v for k, v in entry.items() if v}
    if errors:
        raise ValidationError(errors)
    async with conn.transaction():
        before = {f"section.{r['key']}": json.loads(r["value"]) for r in await conn.fetch(
            "SELECT substr(key, 9) AS key, value FROM app_settings WHERE key = ANY($1::text[])",
            [f"section.{key}" for key in values])}
        for key, value in values.items():
            await conn.execute(
                """INSERT INTO app_settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(),
                                                   updated_by = EXCLUDED.updated_by""",
                f"section.{key}", json.dumps(value, ensure_ascii=False), user_id)
        await audit.record(conn, user_id, "settings", None, "rename sections",
                           audit.diff(before, {f"section.{key}": value for key, value in values.items()}))
