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
