"""Expired web sessions are deleted by the notifier's periodic tick (issue 13)."""

from __future__ import annotations

import datetime as dt

from crm.users import queries as users_q
from tests.helpers import make_user
from web.notifier import Notifier


async def test_the_notifier_deletes_expired_sessions_and_keeps_live_ones(db, settings):
    user = await make_user(db, "olga", "operator")
    now = dt.datetime.now(dt.timezone.utc)
    async with db.acquire() as conn:
        await users_q.insert_session(conn, b"expired", user["id"], now - dt.timedelta(minutes=1), "127.0.0.1")
        await users_q.insert_session(conn, b"live", user["id"], now + dt.timedelta(hours=1), "127.0.0.1")
        await Notifier(settings).tick(conn)
        left = [r["token_hash"] for r in await conn.fetch("SELECT token_hash FROM web_sessions")]
    assert left == [b"live"]


async def test_a_request_touches_its_session_at_most_once_a_minute_and_an_expired_one_lets_nobody_in(db):
    """Issue 25: the session check is on every request; it writes last_seen_at only when a minute old."""
    user = await make_user(db, "olga", "operator")
    now = dt.datetime.now(dt.timezone.utc)
    async with db.acquire() as conn:
        await users_q.insert_session(conn, b"live", user["id"], now + dt.timedelta(hours=1), "127.0.0.1")
        await users_q.insert_session(conn, b"expired", user["id"], now - dt.timedelta(seconds=1), "127.0.0.1")
        seen = await conn.fetchval("SELECT last_seen_at FROM web_sessions WHERE token_hash = 'live'")
        assert (await users_q.session_user(conn, b"live"))["id"] == user["id"]
        assert await conn.fetchval("SELECT last_seen_at FROM web_sessions WHERE token_hash = 'live'") == seen
        await conn.execute("UPDATE web_sessions SET last_seen_at = now() - interval '61 seconds'")
        assert (await users_q.session_user(conn, b"live"))["id"] == user["id"]
        assert await conn.fetchval("SELECT last_seen_at > now() - interval '5 seconds' FROM web_sessions "
                                   "WHERE token_hash = 'live'")
        assert await users_q.session_user(conn, b"expired") is None
        assert await conn.fetchval("SELECT last_seen_at < now() - interval '60 seconds' FROM web_sessions "
                                   "WHERE token_hash = 'expired'")
