"""A gateway's settings per kind (issue 21, A7), checked without I/O: what the admin typed (text, field
by field) becomes the sms_gateways.config the adapters read (smsd/adapters.py), or a ValidationError
naming every wrong field. Secrets (passwords, tokens) are never shown back in full: `shown` masks them,
and a secret left blank on an edit keeps the one stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crm.errors import ValidationError
from crm.i18n import N_, gettext

KINDS = ("smpp", "sip", "http")


@dataclass(frozen=True)
class Key:
    name: str  # in the config and the form (the form's "sender" is sip's "from": FORM_NAMES)
    kind: str = "text"  # text | int | number | secret | url
    required: bool = True
    default: Any = None
    low: float = 0
    high: float = 0


FIELDS: dict[str, tuple[Key, ...]] = {
    "smpp": (Key("host"), Key("port", "int", low=1, high=65535), Key("system_id"), Key("password", "secret"),
             Key("system_type", required=False, default=""),
             Key("window", "int", required=False, default=10, low=1, high=1000),
             Key("rate", "number", required=False, default=50, low=0.1, high=10_000),
             Key("enquire_link_seconds", "int", required=False, default=30, low=5, high=3600)),
    "sip": (Key("endpoint"), Key("from", required=False, default="")),
    "http": (Key("url", "url"), Key("token", "secret"), Key("webhook_secret", "secret")),
}
# Each key in words, for the admin's form (translated where shown).
LABELS = {
    "host": N_("Host"), "port": N_("Port"), "system_id": N_("System ID (login)"), "password": N_("Password"),
    "system_type": N_("System type"), "window": N_("Window (submits awaiting an answer)"),
    "rate": N_("Rate, messages per second"), "enquire_link_seconds": N_("Keep-alive (enquire_link), s"),
    "endpoint": N_("PJSIP endpoint of the GSM gateway"), "from": N_("From (blank: the sending number)"),
    "url": N_("Sending address (URL)"), "token": N_("API token"), "webhook_secret": N_("Delivery webhook secret"),
}
SECRETS = frozenset(k.name for keys in FIELDS.values() for k in keys if k.kind == "secret")
# Config keys whose form field has another name ("from" is a Python keyword).
FORM_NAMES = {"from": "sender"}

REQUIRED = N_("required")
NOT_WHOLE = N_("a whole number from %(low)s to %(high)s")
NOT_NUMBER = N_("a number from %(low)s to %(high)s")
NOT_URL = N_("an http:// or https:// address")


def _whole(text: str, key: Key) -> int | None:
    return int(text) if text.isdigit() and key.low <= int(text) <= key.high else None


def _number(text: str, key: Key) -> float | None:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if key.low <= value <= key.high else None


def _url(text: str, key: Key) -> str | None:
    parts = urlsplit(text)
    return text if parts.scheme in ("http", "https") and parts.netloc else None


_PARSE: dict[str, tuple[Callable[[str, Key], Any], str]] = {
    "int": (_whole, NOT_WHOLE), "number": (_number, NOT_NUMBER), "url": (_url, NOT_URL)}


def form_name(key: str) -> str:
    return FORM_NAMES.get(key, key)


def validate(kind: str, typed: Mapping[str, str], stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The config of a gateway of `kind` from the form's text (`typed`, by form field); `stored`, the
    config being edited: its secrets stay when their fields are left blank."""
    if kind not in KINDS:
        raise ValidationError({"kind": gettext("one of %(kinds)s") % {"kinds": ", ".join(KINDS)}})
    config: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in FIELDS[kind]:
        field = form_name(key.name)
        text = str(typed.get(field) or "").strip() if key.kind != "secret" else str(typed.get(field) or "")
        if key.kind == "secret" and not text and stored and stored.get(key.name):
            config[key.name] = stored[key.name]
            continue
        if not text:
            if key.required:
                errors[field] = gettext(REQUIRED)
            else:
                config[key.name] = key.default
            continue
        if key.kind in _PARSE:
            parse, message = _PARSE[key.kind]
            value = parse(text, key)
            if value is None:
                errors[field] = gettext(message) % {"low": f"{key.low:g}", "high": f"{key.high:g}"}
                continue
            config[key.name] = value
        else:
            config[key.name] = text
    if errors:
        raise ValidationError(errors)
    return config


def mask(secret: str) -> str:
    """A secret as the admin sees it: its last 2 characters of a long one, else dots only."""
    return "••••" + secret[-2:] if len(secret) >= 8 else "••••" if secret else ""


def shown(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with its secrets masked (the page, the audit log)."""
    return {k: mask(str(v)) if k in SECRETS else v for k, v in config.items()}


def form_values(kind: str, config: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields for a stored config: secrets blank (typing one replaces it)."""
    return {form_name(k): "" if k in SECRETS else str(v) for k, v in config.items()}
