"""The web chat's pure rules (issue 23, I3): which origins may open a site's chat, a visitor identity the
site signed, the visitor's address kept whole or anonymised, the flood limit (a token bucket), the size of
a message, the contacts a visitor left in a message, and who may see or take a conversation.

Nothing here reads the clock or the database: the caller passes `now` and the rows."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from crm.roles import sees_everything

# A message's text, in characters (chat_messages.body says the same).
MAX_MESSAGE_CHARS = 2000
# A frame from the widget, in bytes: a message with its JSON around it, and room to spare.
MAX_FRAME_BYTES = 16 * 1024
# A signed identity older than this is refused (the site signs it on each page it serves).
IDENTITY_MAX_AGE_SECONDS = 24 * 3600
IDENTITY_CLOCK_SKEW_SECONDS = 300
# The flood limit: BURST messages at once, then RATE a second - per visitor, and per address
# (a script opening many visitors from one address).
VISITOR_RATE, VISITOR_BURST = 1.0, 5.0
ADDRESS_RATE, ADDRESS_BURST = 3.0, 20.0
# The fields of the site's page the widget reports, cut to these lengths (the columns').
URL_CHARS, TITLE_CHARS, AGENT_CHARS = 2000, 500, 1000


# ---- origins ----

def origin_of(text: str) -> str | None:
    """scheme://host[:port], lower-cased, default ports dropped; None: not an http(s) origin."""
    try:
        parts = urlsplit((text or "").strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if port is None or (parts.scheme, port) in (("http", 80), ("https", 443)):
        return f"{parts.scheme}://{parts.hostname}"
    return f"{parts.scheme}://{parts.hostname}:{port}"


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """Is the browser's Origin header one the site lists? No header, "null" or garbage: no."""
    mine = origin_of(origin or "")
    return mine is not None and any(origin_of(a) == mine for a in allowed)


def parse_origins(text: str) -> tuple[list[str], list[str]]:
    """The admin's list (one a line, or spaces/commas) as origins, and the entries that are not one."""
    good: list[str] = []
    bad: list[str] = []
    for entry in re.split(r"[\s,]+", text or ""):
        if not entry:
            continue
        origin = origin_of(entry)
        if origin is None or urlsplit(entry).path not in ("", "/"):
            bad.append(entry)
        elif origin not in good:
            good.append(origin)
    return good, bad


# ---- a signed identity ----

@dataclass(frozen=True)
class Identity:
    external_id: str
    email: str
    name: str
    phone: str = ""


def identity_payload(external_id: str, email: str, name: str, ts: int) -> bytes:
    return f"{external_id}|{email}|{name}|{ts}".encode()


def sign_identity(secret: str, external_id: str, email: str, name: str, ts: int) -> str:
    """What the site's server computes: hex HMAC-SHA256 of "id|email|name|ts" with the site's secret."""
    return hmac.new(secret.encode(), identity_payload(external_id, email, name, ts), hashlib.sha256).hexdigest()


def verify_identity(secret: str, claimed: Mapping | None, now: float) -> Identity | None:
    """The identity the site signed, or None: none given, a field missing or too long, a wrong signature,
    signed too long ago or in the future."""
    if not secret or not isinstance(claimed, Mapping):
        return None
    external_id, email, name, sig = (claimed.get(k) for k in ("id", "email", "name", "sig"))
    if not (isinstance(external_id, str) and isinstance(email, str) and isinstance(name, str)
            and isinstance(sig, str)):
        return None
    ts = claimed.get("ts")
    if isinstance(ts, str) and ts.isdigit() and len(ts) <= 12:
        ts = int(ts)
    if not isinstance(ts, int) or isinstance(ts, bool):
        return None
    if not external_id or len(external_id) > 200 or len(email) > 320 or len(name) > 200:
        return None
    # The signed text joins the fields with "|": a field holding one could shift the others and sign
    # another identity with the same text (a name "victim@x|Eve"), so none may hold one.
    if any("|" in field for field in (external_id, email, name)):
        return None
    if not (now - IDENTITY_MAX_AGE_SECONDS <= ts <= now + IDENTITY_CLOCK_SKEW_SECONDS):
        return None
    expected = sign_identity(secret, external_id, email, name, ts)
    if not hmac.compare_digest(expected, sig.lower()):
        return None
    # A phone beside the signed fields is not signed: it is not taken as the site's word (it would mark
    # any number "verified" and attach the chat to that number's card).
    return Identity(external_id, email, name)


# ---- the visitor's address ----

def anonymize_ip(address: str | None) -> str:
    """IPv4: the last octet zeroed (a /24); IPv6: its /48. Not an address: ''."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def stored_ip(address: str | None, anonymize: bool) -> str:
    if anonymize:
        return anonymize_ip(address)
    return (address or "")[:64]


# ---- the flood limit ----

@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float


def take_token(bucket: Bucket | None, now: float, rate: float, burst: float) -> tuple[bool, Bucket]:
    """A token bucket: (allowed, the bucket after). A new sender starts with a full bucket."""
    if bucket is None:
        bucket = Bucket(burst, now)
    tokens = min(burst, bucket.tokens + max(0.0, now - bucket.at) * rate)
    if tokens >= 1.0:
        return True, Bucket(tokens - 1.0, now)
    return False, Bucket(tokens, now)


# ---- a message ----

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: object, limit: int = MAX_MESSAGE_CHARS) -> tuple[str | None, str | None]:
    """(the text to store, None) or (None, why not): not text, empty, or longer than the limit. Control
    characters but newlines and tabs go; the text is kept as typed otherwise (it is shown as text)."""
    if not isinstance(text, str):
        return None, "empty"
    cleaned = _CONTROL.sub("", text).strip()
    if not cleaned:
        return None, "empty"
    if len(cleaned) > limit:
        return None, "too_long"
    return cleaned, None


def cut(text: object, limit: int) -> str:
    """A page's field as reported, control characters gone, cut to its column."""
    return _CONTROL.sub("", text)[:limit] if isinstance(text, str) else ""


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,200}\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"\+?\d[\d\s().-]{8,20}\d")


def contacts_in(text: str) -> tuple[list[str], list[str]]:
    """The e-mail addresses and phone-like numbers in what a visitor wrote (at most 3 of each)."""
    emails = [m.group(0) for m in _EMAIL.finditer(text or "")][:3]
    phones = [m.group(0) for m in _PHONE.finditer(text or "")
              if 10 <= sum(c.isdigit() for c in m.group(0)) <= 15][:3]
    return emails, phones


# ---- who may do what ----

def may_see(user: Mapping, conversation: Mapping, sees_card: bool = False) -> bool:
    """Supervisors and admins: every conversation. Others: the waiting ones, their own, and those on a
    card they may see."""
    if sees_everything(user):
        return True
    return (conversation["status"] == "waiting" or conversation["operator_user_id"] == user["id"]
            or (sees_card and conversation["counterparty_id"] is not None))


def may_take(user: Mapping, conversation: Mapping) -> bool:
    return user["role"] != "customer" and conversation["status"] == "waiting"


def may_write(user: Mapping, conversation: Mapping) -> bool:
    """Only the operator who took it, while it is open."""
    return conversation["status"] == "active" and conversation["operator_user_id"] == user["id"]


def may_close(user: Mapping, conversation: Mapping) -> bool:
    return conversation["status"] in ("waiting", "active") and (
        conversation["operator_user_id"] == user["id"] or sees_everything(user))


def may_attach(user: Mapping, conversation: Mapping) -> bool:
    return conversation["operator_user_id"] == user["id"] or sees_everything(user)


LIST_VIEWS = ("waiting", "active", "mine", "closed")
