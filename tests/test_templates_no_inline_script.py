"""No template carries an inline event handler or inline script (issue 12): the CSP would
block them, and a value escaped for HTML is code again inside a handler."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def _problems(text: str) -> list[str]:
    found = [m.group(0).strip() for m in HANDLER.finditer(text)]
    found += [m.group(0) for m in JS_URL.finditer(text)]
    for m in SCRIPT.finditer(text):
        attrs, body = m.group(1), m.group(2)
        if re.search(r'type\s*=\s*"application/json"', attrs):
            continue  # a data block: never executed
        if body.strip() or not re.search(r"\bsrc\s*=", attrs):
            found.append(m.group(0)[:80])
    return found


def test_the_checker_finds_what_it_looks_for():
    assert _problems('<form onsubmit="return confirm(1)">')
    assert _problems("<button type=button onClick='x()'>")
    assert _problems("<script>alert(1)</script>")
    assert _problems('<script type="module">import "x"</script>')
    assert _problems('<a href="javascript:alert(1)">')
    assert not _problems('<script src="/static/app.js" defer></script>')
    assert not _problems('<script type="application/json" id="d">{{ x|tojson }}</script>')
    assert not _problems('<input type="hidden" name="on" value="0"> <form data-confirm="Delete x?">')


def test_no_template_has_an_inline_handler_or_script():
    templates = sorted(TEMPLATES.glob("*.html"))
    assert len(templates) > 20
    problems = {t.name: p for t in templates if (p := _problems(t.read_text(encoding="utf-8")))}
    assert problems == {}
