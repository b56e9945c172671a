"""Database rows to JSON-friendly values."""

from __future__ import annotations

import datetime as dt
import decimal


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "items"):  # asyncpg Record
        return jsonable(dict(value))
    return value
