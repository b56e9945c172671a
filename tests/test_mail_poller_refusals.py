"""A message the database refuses (issue 23, bad input): tried whole, then as its headers (kept, the reason
said), then passed with its UID and reason logged and shown on the admin page: never read for ever. An
error that is not the message's (our SQL, the database) passes nothing: the cursor stays."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from crm.mail.inbound import queries as q
from crm.mail.inbound.filing import Where
from maild.poller import MailboxPoller
from tests.mail_poller_support import CRM_ADDRESS, add_card, add_mailbox, message

REFUSING = """
CREATE FUNCTION pg_temp_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.subject = 'poison' AND NEW.body_text <> '' OR NEW.subject = 'poison always' THEN
        RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'data_exception';
    END IF;
    IF NEW.subject = 'not its fault' THEN
        RAISE EXCEPTION 'a bug' USING ERRCODE = 'undefined_table';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON mail_messages FOR EACH ROW EXECUTE FUNCTION pg_temp_refuse();
"""


@pytest.fixture
async def refusing(db):
    async with db.acquire() as conn:
        await conn.execute(REFUSING)
    yield db
    async with db.acquire() as conn:
        await conn.execute("DROP TRIGGER refuse ON mail_messages; DROP FUNCTION pg_temp_refuse()")


async def test_refused_whole_then_kept_as_headers_then_passed(refusing, settings):
    db = refusing
    async with db.acquire() as conn:
        mailbox = await add_mailbox(conn, 143)
        card = await add_card(conn, "Ivan", "ivan@shop.test")
        row = await conn.fetchrow("SELECT * FROM mailboxes WHERE id = $1", mailbox)
    poller = MailboxPoller(settings, db, row, asyncio.Event())
    where = Where(mailbox, CRM_ADDRESS, "INBOX", 1)

    await poller._file(where, 1, bytes(message("ivan@shop.test", CRM_ADDRESS, "poison", "a body the database hates")))
    async with db.acquire() as conn:
        kept = await conn.fetchrow("SELECT id, body_text, problem, status FROM mail_messages WHERE uid = 1")
        assert kept["body_text"] == "" and kept["status"] == "filed"
        assert "refused (DataError: refused by the test)" in kept["problem"]
        assert await conn.fetchval("SELECT counterparty_id FROM mail_message_cards WHERE message_id = $1",
                                   kept["id"]) == card
        assert await q.cursor(conn, mailbox, "INBOX") == (1, 1)

    await poller._file(where, 2, bytes(message("ivan@shop.test", CRM_ADDRESS, "poison always")))
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM mail_messages") == 1
        assert await q.cursor(conn, mailbox, "INBOX") == (1, 2)  # passed, not read for ever
        assert "UID 2 not stored: DataError: refused by the test" in await conn.fetchval(
            "SELECT last_error FROM mailboxes")
    assert poller.passed.startswith("INBOX UID 2 not stored")

    with pytest.raises(asyncpg.UndefinedTableError):
        await poller._file(where, 3, bytes(message("ivan@shop.test", CRM_ADDRESS, "not its fault")))
    async with db.acquire() as conn:
        assert await q.cursor(conn, mailbox, "INBOX") == (1, 2)  # the cursor waits: read again later
