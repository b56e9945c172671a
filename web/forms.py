"""Reading submitted forms and query strings into typed values."""

from __future__ import annotations

from starlette.datastructures import FormData, QueryParams

from crm.errors import ValidationError


def text(data: FormData | QueryParams, key: str, default: str = "") -> str:
    value = data.get(key, default)
    return value.strip() if isinstance(value, str) else default


def optional_int(data: FormData | QueryParams, key: str) -> int | None:
    raw = text(data, key)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({key: "must be a whole number"}) from None


def checkbox(data: FormData, key: str) -> bool:
    return data.get(key) in ("on", "1", "true", "yes")


def optional_text(data: FormData, key: str) -> str | None:
    return text(data, key) or None
