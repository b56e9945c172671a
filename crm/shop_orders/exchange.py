"""The 1C exchange protocol's side of the shop (issue 24, K1), type=sale: the shop's 1C (or its CMS's
exchange module) calls /shop-orders/1c/<source key>/exchange with

    mode=checkauth  Basic auth -> "success\\n<cookie name>\\n<cookie value>" (the session for what follows)
    mode=init       -> "zip=no\\nfile_limit=<bytes>" (we take no zip; each chunk at most file_limit)
    mode=file       POST the file's bytes (filename=...); a file sent in chunks is appended -> "success"
    mode=import     the uploaded file read as CommerceML (crm/shop_orders/commerceml.py) -> "success"
    mode=query      what the CRM has for 1C: nothing yet (an empty CommerceML document)
    mode=success    1C took the query's answer -> "success"

Every step but checkauth needs the session cookie or the Basic auth again. Answers are text, as 1C reads
them; a failure is "failure\\n<why>". Here: the pure checks and the sessions' and files' SQL."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re
import secrets
from collections.abc import Mapping

import asyncpg

COOKIE = "pbxcrm_1c"
FILE_LIMIT = 1_000_000  # under the web's request limit (web/limits.MAX_BODY_BYTES)
MAX_FILE_BYTES = 50 * 1024 * 1024
SESSION_HOURS = 2
_FILENAME = re.compile(r"[^\w.\-]+")
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{1,100}")  # as open_session makes them
MODES = ("checkauth", "init", "file", "import", "query", "success")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(login, password) of an Authorization: Basic header, None when there is none or it is garbled."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    login, sep, password = decoded.partition(":")
    return (login, password) if sep else None


def authorised(source: Mapping, credentials: tuple[str, str] | None) -> bool:
    """The source's login and password (its secret), compared in constant time; none set: nobody."""
    if credentials is None or not source["login"] or not source["secret"]:
        return False
    login, password = credentials
    return (hmac.compare_digest(login.encode(), source["login"].encode())
            & hmac.compare_digest(password.encode(), source["secret"].encode()))


def safe_filename(name: str) -> str:
    """The uploaded file's name as kept: its last part, letters, digits, dots and dashes."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _FILENAME.sub("_", base)[:200] or "orders.xml"


async def open_session(conn: asyncpg.Connection, source_id: int, now: dt.datetime) -> str:
    cookie = secrets.token_urlsafe(24)
    await conn.execute("DELETE FROM shop_exchange_sessions WHERE created_at < $1",
                       now - dt.timedelta(hours=SESSION_HOURS))
    await conn.execute("INSERT INTO shop_exchange_sessions (cookie, source_id, created_at) VALUES ($1, $2, $3)",
                       cookie, source_id, now)
    return cookie


async def session_valid(conn: asyncpg.Connection, source_id: int, cookie: str | None, now: dt.datetime) -> bool:
    if not cookie or not _COOKIE_VALUE.fullmatch(cookie):
        return False
    return bool(await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM shop_exchange_sessions
                          WHERE cookie = $1 AND source_id = $2 AND created_at >= $3)""",
        cookie, source_id, now - dt.timedelta(hours=SESSION_HOURS)))


async def append_file(conn: asyncpg.Connection, cookie: str, filename: str, chunk: bytes) -> bool:
    """Add a chunk to the session's file; False when the file would pass MAX_FILE_BYTES (nothing added)."""
    size = await conn.fetchval(
        """INSERT INTO shop_exchange_files AS f (cookie, filename, body) VALUES ($1, $2, $3)
           ON CONFLICT (cookie, filename) DO UPDATE SET body = f.body || EXCLUDED.body
           WHERE length(f.body) + length(EXCLUDED.body) <= $4
           RETURNING length(body)""", cookie, filename, chunk, MAX_FILE_BYTES)
    return size is not None


async def take_file(conn: asyncpg.Connection, cookie: str, filename: str) -> bytes | None:
    """The session's uploaded file, removed (a second import of it finds nothing)."""
    return await conn.fetchval("DELETE FROM shop_exchange_files WHERE cookie = $1 AND filename = $2 RETURNING body",
                               cookie, filename)


def empty_document(now: dt.datetime) -> str:
    """mode=query's answer: no orders from the CRM's side."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="{now:%Y-%m-%dT%H:%M:%S}"/>\n')
