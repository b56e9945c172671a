"""The Russian catalogue is complete and matches the code (issue 14).

`pybabel extract` runs here over the same babel.cfg as `make messages`: a text marked in
the code but missing from crm/locale/ru/LC_MESSAGES/messages.po, or there without a
Russian translation (every plural form), or with placeholders that differ from the
English, fails the test and names it. Fix: `make messages`, then translate.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from crm import i18n

REPO = Path(__file__).resolve().parent.parent
PO = i18n.catalogue_path("ru")


def _catalogue():
    with PO.open("rb") as f:
        return read_po(f, locale="ru")


def _ids(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    pot = tmp_path_factory.mktemp("messages") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
                    "--no-location", "-o", str(pot), "crm", "web", "ari_app", "agi", "pbxcrm"],
                   cwd=REPO, check=True, timeout=120)
    with pot.open("rb") as f:
        return read_po(f)


def test_every_marked_text_is_in_the_catalogue(extracted):
    known = {(m.context, _ids(m)) for m in _catalogue() if m.id}
    missing = sorted(_ids(m) for m in extracted if m.id and (m.context, _ids(m)) not in known)
    assert not missing, f"{len(missing)} text(s) not in {PO.name} (run `make messages`): {missing[:20]}"
    assert len(extracted) > 1, "the extraction found no texts: babel.cfg does not reach the code"


def test_every_message_has_a_russian_translation():
    untranslated = []
    for message in _catalogue():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings) or (isinstance(message.id, tuple) and len(strings) != 3):
            untranslated.append(_ids(message))
    assert not untranslated, f"{len(untranslated)} message(s) without Russian: {untranslated[:20]}"


def test_translations_keep_the_placeholders():
    catalogue = _catalogue()
    problems = [(_ids(m), [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert not problems, problems[:10]


def test_no_fuzzy_or_obsolete_entries():
    catalogue = _catalogue()
    fuzzy = [_ids(m) for m in catalogue if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy (guessed) translations to check: {fuzzy[:20]}"
    assert not catalogue.obsolete, f"obsolete messages: {list(catalogue.obsolete)[:20]}"


@pytest.mark.parametrize(("n", "word"), [(1, "звонок"), (2, "звонка"), (4, "звонка"), (5, "звонков"),
                                         (11, "звонков"), (21, "звонок"), (22, "звонка"), (111, "звонков")])
def test_russian_plurals(n, word):
    with i18n.using("ru"):
        text = i18n.ngettext("%(num)d call", "%(num)d calls", n) % {"num": n}
    assert text == f"{n} {word}"


def test_english_is_the_code_itself():
    with i18n.using("en"):
        assert i18n.ngettext("%(num)d call", "%(num)d calls", 1) % {"num": 1} == "1 call"
        assert i18n.ngettext("%(num)d call", "%(num)d calls", 5) % {"num": 5} == "5 calls"


@pytest.mark.parametrize(("header", "language"), [
    ("ru-RU,ru;q=0.9,en-US;q=0.8", "ru"), ("en-US,en;q=0.9,ru;q=0.5", "en"), ("de-DE,ru;q=0.4", "ru"),
    ("fr, de", None), ("", None), (None, None), ("ru;q=0, en;q=0.1", "en"), ("ru;q=abc,en", "en"),
])
def test_browser_language(header, language):
    assert i18n.from_accept_language(header) == language


def test_choice_order():
    assert i18n.choose(None, "ru", "en") == "ru"  # the call centre's over the browser's
    assert i18n.choose("en", "ru", "ru") == "en"  # the user's over both
    assert i18n.choose(None, None, None) == i18n.FALLBACK_LANGUAGE
    assert i18n.choose("xx", None, "ru-RU") == "ru"
