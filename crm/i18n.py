"""The language a message is written in: Babel's catalogues, chosen per request or per call.

Messages are written in English in the code and marked for extraction:
`gettext("...")` (imported as `_`) where the text is made, `ngettext` for plurals,
`N_("...")` for texts named before anyone asks for them (module constants), translated
where they are shown (`gettext(CONSTANT)`). The Russian catalogue is
crm/locale/ru/LC_MESSAGES/messages.po; `make messages` extracts and merges it
(scripts/messages.sh), tests/test_i18n_catalogue.py fails on an untranslated message.

The language in force is a context variable: the web sets it per request from the
user's setting, the call centre's, then the browser's (web/locale.py); a background
job started from a request keeps it, and code that writes for someone else
(an e-mail to a manager) says whose with `using(language)`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext as _gettext
import io
from collections.abc import Iterator
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("ru", "en")  # English is the code's own; Russian comes from the catalogue
SOURCE_LANGUAGE = "en"
FALLBACK_LANGUAGE = "en"  # when nobody said: no user setting, no call centre setting, no browser header
LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}  # each in itself, as language pickers show them
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("pbxcrm_language", default=FALLBACK_LANGUAGE)


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=None)
def translations(language: str) -> _gettext.NullTranslations:
    """The language's messages, compiled from its .po in memory: no .mo to go stale in the tree."""
    path = catalogue_path(language)
    if language == SOURCE_LANGUAGE or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def supported(language: str | None) -> str | None:
    """"ru", "ru-RU", "RU_ru" -> "ru"; a language we do not have -> None."""
    if not language:
        return None
    base = language.replace("_", "-").split("-")[0].strip().lower()
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The browser's most wanted language that we have (RFC 9110 quality values), or None."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        language = supported(tag)
        if language and quality > 0:
            choices.append((-quality, position, language))
    return min(choices)[2] if choices else None


def choose(*candidates: str | None) -> str:
    """The first candidate we have a catalogue for: e.g. choose(user's, call centre's, browser's)."""
    for candidate in candidates:
        language = supported(candidate)
        if language:
            return language
    return FALLBACK_LANGUAGE


def current() -> str:
    return _language.get()


def current_locale() -> Locale:
    return locale_of(_language.get())


@functools.lru_cache(maxsize=None)
def locale_of(language: str) -> Locale:
    return Locale.parse(language)


def activate(language: str) -> contextvars.Token:
    """Make `language` the one in force in this context (a request, a task); reset with the token."""
    return _language.set(choose(language))


def deactivate(token: contextvars.Token) -> None:
    _language.reset(token)


@contextlib.contextmanager
def using(language: str | None) -> Iterator[str]:
    """Write in another language for a while: `with using(manager_language): body = ...`."""
    token = _language.set(choose(language))
    try:
        yield _language.get()
    finally:
        _language.reset(token)


def gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Russian has three forms (1 звонок, 2 звонка, 5 звонков): the catalogue picks by n."""
    return translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """A short word that means different things in different places ("Open" a card, an "Open" task)."""
    return translations(_language.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).npgettext(context, singular, plural, n)


def N_(message: str) -> str:
    """Marks a text for extraction without translating it: it is translated where it is shown."""
    return message


_ = gettext
