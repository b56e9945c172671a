"""A GSM gateway's text while the database does not answer (issue 21, ari_app/sms/handlers.py): Asterisk
has answered 202 already, so the app waits for the database instead of dropping the text."""

from __future__ import annotations

import json

import ari_app.sms.handlers as handlers
from ari_app.sms.handlers import SmsHandlers
from crm.sms import queries as q

EVENT = {"type": "TextMessageReceived", "endpoint": {"technology": "PJSIP", "resource": "gsmgw"},
         "message": {"from": "<sip:+79161234567@127.0.0.2>", "to": "pjsip:74951230000@127.0.0.1",
                     "body": "Перезвоните", "variables": {}}}


class RefusingFirst:
    """The test database's pool, refusing its first `n` connections as a server that is down does."""

    def __init__(self, pool, n: int) -> None:
        self.pool, self.refusals = pool, n

    def acquire(self):
        if self.refusals:
            self.refusals -= 1
            raise ConnectionRefusedError("the database is down")
        return self.pool.acquire()


async def test_a_text_waits_for_the_database_and_lands_on_the_card(db, monkeypatch):
    monkeypatch.setattr(handlers, "STORE_BACKOFF_MAX_SECONDS", 0.05)
    async with db.acquire() as conn:
        gid = await conn.fetchval("INSERT INTO sms_gateways (name, kind, config) VALUES ('GSM', 'sip', $1::jsonb) "
                                  "RETURNING id", json.dumps({"endpoint": "gsmgw"}))
        cid = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'Смирнова') "
                                  "RETURNING id")
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '+79161234567', '+79161234567')", cid)
    sms = SmsHandlers(None, RefusingFirst(db, 3), "RU")  # type: ignore[arg-type]
    await sms.on_text_message(EVENT)
    async with db.acquire() as conn:
        chat = await q.for_counterparty(conn, cid)
        assert [(m["body"], m["status"]) for m in chat] == [("Перезвоните", "received")]
        assert await conn.fetchval("SELECT gateway_id FROM sms_messages") == gid


async def test_a_database_that_never_answers_is_logged_as_a_lost_text(db, monkeypatch, caplog):
    monkeypatch.setattr(handlers, "STORE_BACKOFF_MAX_SECONDS", 0.01)
    monkeypatch.setattr(handlers, "STORE_TRIES", 3)
    await SmsHandlers(None, RefusingFirst(db, 99), "RU").on_text_message(EVENT)  # type: ignore[arg-type]
    assert "lost: the database did not answer for 3 tries" in caplog.text and "+79161234567" in caplog.text
