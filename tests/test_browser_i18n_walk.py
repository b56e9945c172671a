"""Issue 14, the walk: every page of the product in Chromium, wide (1400 px) and on a phone
(360 px), as a Russian-speaking admin (the browser asks for Russian; separately, the user's own
setting is Russian and the browser asks for English) and as an English-speaking one.

On a Russian page no text of ours may still be English: no text node is (for one word) or
contains (for two or more) an English message of the Russian catalogue whose Russian differs;
attributes people read count too (placeholder, title, aria-label, alt, data-confirm, data-label,
button values), and so do the page's <title> and the chart's legend. On an English page no
Russian text of the catalogue shows. <html lang> says the language, and every time reads
Moscow time, labelled MSK. The data is what Russian users type (tests/site.py), so it never
reads as ours.

Every text node counts, shown or not (a folded menu, a select's options, a button shown later):
all of them are the product's words. Each failure lists every leak with where it is.
Latin words on Russian pages that no catalogue message explains (texts nobody marked yet) do
not fail the walk, being a guess; they are reported as warnings, page by page.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import pytest
from babel.messages.pofile import read_po

from crm.i18n import catalogue_path
from tests.site import MOSCOW, PAGE_BY_NAME, PAGES, WALKERS, Site, address, logged_in_context, page_routes, start_site

WIDTHS = {"1400px": (1400, 900), "360px": (360, 740)}
POPS = ("screen pop: known caller", "screen pop: unknown caller")
STOPS = [p.name for p in PAGES] + list(POPS)

_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?([sdifr])")
# What a placeholder can stand for: a number (maybe grouped, "1 234,5") or any text.
_FILLS = {"d": r"\d[\d\s.,]*", "i": r"\d[\d\s.,]*", "f": r"\d[\d\s.,]*"}
_EDGE = " \t\n()[]{}:;,.!?«»\"'·•—–-…/|*#№"
# Latin words allowed on a Russian page besides people's data: the product, file formats, zones,
# names of services that Russian writes in Latin letters, and English as a language picker names it.
LATIN_ALLOWED = {"pbxcrm", "crm", "excel", "xlsx", "msk", "utc", "e-mail", "email", "skype", "sms", "english", "pjsip",
                 "did"}
LATIN_ALLOWED |= {"asterisk", "mp3", "wav"}  # the PBX's name and the greetings' file formats (issue 15)
LATIN_ALLOWED |= {"ip", "ip-", "ipv", "cidr", "readme"}  # the allow-lists' terms and where break-glass is told (issue 17)
# The web chat's site page (issue 23): the widget's tag as the site pastes it, and the identity's signature.
LATIN_ALLOWED |= {"script", "src", "data-site", "async", "data-visitor-id", "data-visitor-email", "data-visitor-name",
                  "data-visitor-ts", "data-visitor-sig", "hmac-sha", "unix", "id", "name", "ts"}
LATIN_ALLOWED |= {"gsm", "gsm-", "ucs", "ucs-"}  # an SMS's encodings, GSM-7 and UCS-2, as the chat's counter names them (issue 21)
# Shop orders (issue 24): the formats and the shop platform the sources page names, as Russian writes them.
LATIN_ALLOWED |= {"commerceml", "xml", "json", "csv", "woocommerce", "api"}
LATIN_ALLOWED |= {"ari"}  # the PBX nodes' page (issue 26): Asterisk's REST Interface, as Russian writes it

# Every text of the page, with where it is: text nodes, attributes people read, the title, the chart legend.
COLLECT = """() => {
  const where = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      let s = e.tagName.toLowerCase();
      const id = e.getAttribute("id");  // not e.id: a form's input named "id" shadows it
      if (id) { parts.unshift(s + "#" + id); break; }
      if (e.classList.length) s += "." + [...e.classList].join(".");
      parts.unshift(s);
    }
    return parts.join(" > ") || "body";
  };
  const clean = (s) => s.replace(/\\s+/g, " ").trim();
  const texts = [["title", clean(document.title)]];
  const nodes = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = nodes.nextNode());) {
    const parent = n.parentElement;
    if (!parent || parent.closest("script, style, template, noscript")) continue;
    const text = clean(n.nodeValue);
    if (text) texts.push([where(parent), text]);
  }
  const attributes = ["placeholder", "title", "aria-label", "alt", "data-confirm", "data-label"];
  for (const el of document.body.querySelectorAll("*")) {
    for (const a of attributes) {
      const v = el.getAttribute(a);
      if (v && clean(v)) texts.push([where(el) + "[" + a + "]", clean(v)]);
    }
    if (el.matches("input[type=submit], input[type=button], input[type=reset]") && clean(el.value))
      texts.push([where(el) + "[value]", clean(el.value)]);
  }
  // The chart is drawn, not written: its legend and periods as reports.js draws them.
  const chart = document.getElementById("chart-data");
  if (chart) {
    const data = JSON.parse(chart.textContent);
    for (const name of Object.keys(data.series || {})) texts.push(["chart legend", (data.names || {})[name] || name]);
    for (const label of data.labels || data.buckets || []) texts.push(["chart axis", String(label)]);
  }
  return { lang: document.documentElement.lang, texts };
}"""


@dataclass(frozen=True)
class Message:
    """A catalogue text as it can show on a page: one word must be a whole text node (give or take
    punctuation), two or more are looked for inside text nodes; placeholders match anything."""
    text: str
    pattern: re.Pattern
    whole: bool
    key: str  # its longest word, lower case: a text without it cannot show the message

    def found_in(self, text: str, lowered: str) -> bool:
        if self.key not in lowered:
            return False
        return bool(self.pattern.fullmatch(text) if self.whole else self.pattern.search(text))


def message(text: str) -> Message | None:
    # split() with the group: literal, type, literal, type, ... literal.
    pieces = _PLACEHOLDER.split(text.strip(_EDGE))
    literal, kinds = pieces[::2], pieces[1::2]
    words = sum(len(re.findall(r"\w+", part)) for part in literal)
    if not words:
        return None  # placeholders only: nothing of ours to recognise
    # A one-word message must be the whole text: its %s stands for a few words (a name), not a sentence.
    text_fill = r"\S+(?:\s+\S+){0,2}" if words == 1 else ".+?"

    def escaped(part: str) -> str:
        return re.escape(re.sub(r"\s+", " ", part.replace("%%", "%"))).replace("\\ ", r"\s+")

    body = escaped(literal[0])
    for kind, part in zip(kinds, literal[1:]):
        body += _FILLS.get(kind, text_fill) + escaped(part)
    key = max((w for part in literal for w in re.findall(r"\w+", part)), key=len).lower()
    if words == 1:
        return Message(text, re.compile(rf"[\W_]*{body}[\W_]*", re.I | re.S), True, key)
    return Message(text, re.compile(rf"(?<!\w){body}(?!\w)", re.I | re.S), False, key)


@lru_cache(maxsize=None)
def catalogue_leaks(language: str) -> tuple[Message, ...]:
    """What must not show on a page in `language`: on Russian pages the English of every message
    whose Russian differs (or is missing), on English pages the Russian that differs from the English."""
    with catalogue_path("ru").open("rb") as f:
        catalogue = read_po(f, locale="ru")
    pairs = []
    for m in catalogue:
        if m.id:
            english = tuple(m.id) if isinstance(m.id, (list, tuple)) else (m.id,)
            russian = tuple(s for s in (m.string if isinstance(m.string, (list, tuple)) else (m.string,)) if s)
            pairs.append((english, russian, "fuzzy" in m.flags))
    # A text both languages use ("E-mail" is a msgid, and another msgid's Russian) is nobody's leak.
    both = ({e.lower() for english, _, _ in pairs for e in english}
            & {r.lower() for _, russian, fuzzy in pairs if not fuzzy for r in russian})
    texts: dict[str, None] = {}
    for english, russian, fuzzy in pairs:
        if language == "ru":
            texts.update((e, None) for e in english if (e not in russian or fuzzy) and e.lower() not in both)
        else:
            texts.update((r, None) for r in russian if r not in english and r.lower() not in both)
    return tuple(found for t in texts if (found := message(t)) is not None)


_TIMES = {"ru": re.compile(r"\d{2}\.\d{2}\.\d{4},? \d{1,2}:\d{2}(?::\d{2})?"),
          "en": re.compile(r"\d{1,2}/\d{1,2}/\d{4},? \d{1,2}:\d{2}(?::\d{2})? ?[AP]M")}
# ISO timestamps (not a day's opening hours, "2025-12-31 10:00-15:00"), and clock times labelled
# UTC or GMT (a zone picker's "Москва (UTC+3)" is no time).
_RAW_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?!\s*[-–]\s*\d{1,2}:\d{2})"
                       r"|\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]M\s*)?(?:UTC|GMT)")


def clock_problems(language: str, texts: list[list[str]]) -> list[str]:
    """Times not in the reader's format, or not labelled as Moscow time."""
    problems = []
    for where, text in texts:
        for other, pattern in _TIMES.items():
            for m in pattern.finditer(text):
                if other != language:
                    problems.append(f"{where}: {text!r} has a time written the {other} way")
                elif not text[m.end():].startswith(" MSK"):
                    problems.append(f"{where}: {text!r} has a time not labelled MSK")
        if _RAW_TIME.search(text):
            problems.append(f"{where}: {text!r} has a raw or non-Moscow time")
    return problems


def unexplained_words(language: str, texts: list[list[str]], site: Site) -> list[str]:
    """A guess at texts nobody marked for translation: Latin words on a Russian page, Cyrillic on an
    English one, once people's data (names, notes, logins, e-mails, numbers) is taken out."""
    data = sorted(set(site.user_data) | {u["login"] for u in site.users.values()}, key=len, reverse=True)
    foreign = re.compile(r"[A-Za-z][A-Za-z'-]*" if language == "ru" else r"[А-Яа-яЁё][А-Яа-яЁё-]*")
    found = []
    for where, text in texts:
        rest = re.sub(r"\S+@\S+|https?://\S+|\S+\.xlsx", " ", text)
        for d in data:
            rest = rest.replace(d, " ")
        words = [w for w in foreign.findall(rest) if w.lower() not in LATIN_ALLOWED and w != "Русский"]
        if words:
            found.append(f"{where}: {text!r}")
    return found


# ---- the site and one logged-in browser context per walker, for the whole module ----

@pytest.fixture(scope="module")
async def site(pool, database_url, tmp_path_factory):
    site, server = await start_site(pool, database_url, tmp_path_factory.mktemp("walk"))
    yield site
    server.stop()


@pytest.fixture(scope="module")
async def contexts(chromium, site):
    """walker name -> (context, page), logged in on first use."""
    opened: dict = {}
    yield opened
    for context, _ in opened.values():
        await context.close()


async def walker_page(contexts, chromium, site: Site, walker_name: str, width: str):
    if walker_name not in contexts:
        contexts[walker_name] = await logged_in_context(chromium, site, WALKERS[walker_name], *WIDTHS[width])
    _, page = contexts[walker_name]
    w, h = WIDTHS[width]
    if page.viewport_size != {"width": w, "height": h}:
        await page.set_viewport_size({"width": w, "height": h})
    return page


async def show_pop(page, pool, site: Site, user_id: int, known: bool) -> None:
    from crm.pops.events import PopEvent, notify

    await page.goto(site.url + "/clients")
    await page.wait_for_selector("body[data-pops=ready]", state="attached")
    client = site.ids["client"] if known else None
    async with pool.acquire() as conn:
        await notify(conn, PopEvent(user_id, "ringing", "walk-pop", "incoming",
                                    "+7 495 123-45-67" if known else "+7 903 111-22-33",
                                    client, "Соколов Иван Петрович" if known else ""))
    await page.wait_for_selector("#screen-pop ul.recent" if known else "#screen-pop input[type=search]")


def test_the_walk_covers_every_page_of_the_app():
    """A new page is walked, or named in tests/site.py's NOT_PAGES with the reason it is not a page."""
    walked = {p.route for p in PAGES if p.route}
    assert page_routes() - walked == set(), "pages the walk does not visit: add them to tests/site.py PAGES"
    assert walked - page_routes() == set(), "PAGES names routes the app no longer has"


async def test_the_audit_viewer_shows_the_contact_change(site, contexts, chromium):
    """Issue 17's done-when: the walk's audit page has the client's number change, old and new, and
    the address the change came from (tests/site.py changes it as from 192.0.2.10)."""
    page = await walker_page(contexts, chromium, site, "en", next(iter(WIDTHS)))
    await page.goto(address(PAGE_BY_NAME["audit"], site, WALKERS["en"]), wait_until="domcontentloaded")
    row = page.locator("#audit tbody tr", has=page.locator("del.old", has_text="+7 916 555-44-33"))
    assert await row.locator("ins.new").inner_text() == "+7 916 555-44-34"
    assert await row.locator("td.address").inner_text() == "192.0.2.10"
    assert "changed a contact" in await row.inner_text()


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("walker_name", WALKERS)
async def test_every_text_is_in_the_readers_language(walker_name, width, stop, site, contexts, chromium, pool):
    walker = WALKERS[walker_name]
    target = PAGE_BY_NAME.get(stop)
    context = None
    if target is not None and target.anonymous:
        # Before logging in nobody is known: the browser's language decides, even for Olga.
        context = await chromium.new_context(locale=walker.browser, viewport=dict(zip(("width", "height"),
                                                                                       WIDTHS[width])),
                                             extra_http_headers={"Accept-Language": walker.browser})
        page = await context.new_page()
        language = walker.browser[:2]
    else:
        page = await walker_page(contexts, chromium, site, walker_name, width)
        language = walker.language
    try:
        if target is None:
            await show_pop(page, pool, site, site.users[walker.login]["id"], known=stop == POPS[0])
        else:
            response = await page.goto(address(target, site, walker), wait_until="domcontentloaded")
            assert response.status == (404 if target.route is None else 200), f"{stop}: {response.status}"
        found = await page.evaluate(COLLECT)
    finally:
        if context is not None:
            await context.close()

    problems = []
    if found["lang"] != language:
        problems.append(f'<html lang="{found["lang"]}">, not "{language}"')
    leaks = catalogue_leaks(language)
    for where, text in found["texts"]:
        lowered = text.lower()
        shown = [m.text for m in leaks if m.found_in(text, lowered)]
        if shown:
            problems.append(f"{where}: {text!r} shows {' / '.join(map(repr, shown))}")
    problems += clock_problems(language, found["texts"])
    for line in problems:
        print(f"LEAK [{walker_name} {width}] {stop}: {line}")
    unmarked = unexplained_words(language, found["texts"], site)
    if unmarked:
        warnings.warn(f"[{walker_name} {width}] {stop}: {len(unmarked)} texts look "
                      f"{'English' if language == 'ru' else 'Russian'}, unmarked?\n  " + "\n  ".join(unmarked),
                      stacklevel=1)
    assert not problems, (f"{stop} [{walker_name} {width}]: {len(problems)} texts not in {language}:\n  "
                          + "\n  ".join(problems))


@pytest.mark.parametrize("walker_name", WALKERS)
async def test_times_read_moscow_time(walker_name, site, contexts, chromium):
    """The call that started at 21:30:05 UTC reads 00:30:05 the next day, MSK, whatever the browser's clock."""
    walker = WALKERS[walker_name]
    page = await walker_page(contexts, chromium, site, walker_name, "1400px")
    local = site.first_call_at.astimezone(MOSCOW)
    assert (local.hour, local.minute, local.second) == (0, 30, 5)
    if walker.language == "ru":
        expected = f"{local:%d.%m.%Y}, 00:30:05 MSK"
    else:
        expected = f"{local.month}/{local.day}/{local.year}, 12:30:05 AM MSK"
    await page.goto(site.url + "/calls")
    first_row = re.sub(r"\s+", " ", await page.inner_text("#calls tbody tr:has(td.caller:has-text('+7 495 123-45-67'))"))
    assert expected in first_row
    await page.goto(f"{site.url}/counterparties/{site.ids['client']}")
    calls = re.sub(r"\s+", " ", await page.inner_text("#card-calls"))
    assert expected.replace(":05 ", " ") in calls
