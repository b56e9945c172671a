"""An e-mail's HTML body made safe to show (issue 23, I4): pure, unit-tested (tests/test_mail_sanitize.py).

nh3 (the Rust html5ever + Ammonia sanitiser) does the cleaning: a real HTML5 parser, an allow-list of tags
and attributes, URL schemes checked on every URL attribute, maintained, and fast on the big bodies mail
brings; bleach is deprecated by its maintainers and slower. On top of Ammonia's defaults:

- no script, style sheets, forms, frames, objects or event handlers (Ammonia keeps none of them);
- links only http(s)/mailto, opened in a new tab with rel="noopener noreferrer";
- inline style kept only for a few layout properties, and never a value with a function (url(),
  expression()) but rgb(): no remote fetch and no old-IE script through CSS;
- images: cid: ones point at the message's own attachment (`cid_urls`), remote (http/https) ones are
  dropped unless `remote_images` (counted, so the page can offer to show them), anything else dropped.

The page shows the result in a sandboxed frame with a CSP of its own (web/views/mail.py), so even a miss
here runs no script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import nh3

TAGS = frozenset(nh3.ALLOWED_TAGS - {"area", "map"}) | {"font"}
ATTRIBUTES = {
    "*": {"style", "title", "align", "dir", "lang", "width", "height", "bgcolor", "valign"},
    "a": {"href"},
    "img": {"src", "alt", "border"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start", "type"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid"}
DROP_WITH_CONTENT = {"script", "style", "title", "textarea", "select", "button", "noscript", "template"}
STYLE_PROPERTIES = frozenset({
    "color", "background-color", "font-family", "font-size", "font-weight", "font-style", "text-align",
    "text-decoration", "line-height", "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
    "padding", "padding-top", "padding-bottom", "padding-left", "padding-right", "border", "border-top",
    "border-bottom", "border-left", "border-right", "border-collapse", "border-color", "border-width",
    "border-style", "width", "max-width", "height", "vertical-align", "white-space", "display",
})
_FUNCTION = re.compile(r"([a-z-]*)\s*\(", re.IGNORECASE)
_SAFE_FUNCTIONS = {"rgb", "rgba"}


@dataclass(frozen=True)
class Cleaned:
    html: str
    remote_images: int  # remote images left out (0 when they were asked for)


def clean_style(value: str) -> str:
    """Only the allowed properties, and none whose value calls a function but rgb()/rgba() or escapes."""
    kept = []
    for declaration in value.split(";"):
        name, colon, rest = declaration.partition(":")
        name = name.strip().lower()
        rest = rest.strip()
        if not colon or name not in STYLE_PROPERTIES or not rest or "\\" in rest or "/*" in rest:
            continue
        if any(f.lower() not in _SAFE_FUNCTIONS for f in _FUNCTION.findall(rest)):
            continue
        kept.append(f"{name}: {rest}")
    return "; ".join(kept)


def is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://", "//"))


def sanitize(html: str, *, cid_urls: Mapping[str, str] | None = None, remote_images: bool = False) -> Cleaned:
    """The body made safe. `cid_urls`: an inline part's Content-ID (no <>, any case) -> the URL it is served at."""
    cids = {k.strip("<>").lower(): v for k, v in (cid_urls or {}).items()}
    blocked = 0

    def attribute(tag: str, name: str, value: str) -> str | None:
        nonlocal blocked
        if name == "style":
            return clean_style(value) or None
        if tag == "img" and name == "src":
            lowered = value.strip().lower()
            if lowered.startswith("cid:"):
                return cids.get(value.strip()[4:].strip("<>").lower())
            if is_remote(value):
                if remote_images:
                    return value
                blocked += 1
                return None
            return None
        if name == "href" and value.strip().lower().startswith("cid:"):
            return None
        return value

    out = nh3.clean(html, tags=set(TAGS), clean_content_tags=DROP_WITH_CONTENT, attributes=ATTRIBUTES,
                    attribute_filter=attribute, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer",
                    set_tag_attribute_values={"a": {"target": "_blank"}}, strip_comments=True)
    return Cleaned(out, blocked)
