"""Filing against the database (issue 23): threads across messages, the same message read twice (another
folder, a new UIDVALIDITY) filed once, the cursor moved with it, NOTIFY, a refused message kept as headers."""

from __future__ import annotations

import asyncio

import asyncpg

from crm.mail import FILED_CHANNEL
from crm.mail.inbound import queries as q
from crm.mail.inbound.filing import Where, file_message, pass_message
from tests.mail_poller_support import CRM_ADDRESS, add_card, add_mailbox, message

LIMIT = 1024 * 1024


async def _setup(conn) -> tuple[int, int]:
    mailbox = await add_mailbox(conn, 143)
    card = await add_card(conn, "Ivan", "ivan@shop.test")
    return mailbox, card


async def test_a_reply_joins_its_parents_thread_and_an_orphan_starts_one(db):
    async with db.acquire() as conn:
        mailbox, card = await _setup(conn)
        inbox = Where(mailbox, CRM_ADDRESS, "INBOX", 5)
        first = message("ivan@shop.test", CRM_ADDRESS, "order")
        reply = message(CRM_ADDRESS, "ivan@shop.test", "Re: order", reply_to=first)
        again = message("ivan@shop.test", CRM_ADDRESS, "Re: Re: order", reply_to=reply)
        orphan = message("ivan@shop.test", CRM_ADDRESS, "Re: lost", message_id="<orphan@x>")
        orphan["In-Reply-To"] = "<never-seen@x>"
        ids = []
        for uid, msg in enumerate((first, reply, again, orphan), start=1):
            ids.append((await file_message(conn, inbox, uid, bytes(msg), max_attachment_bytes=LIMIT)).message_id)
        threads = dict(await conn.fetch("SELECT id, thread_id FROM mail_messages"))
        assert threads == {ids[0]: ids[0], ids[1]: ids[0], ids[2]: ids[0], ids[3]: ids[3]}
        assert await conn.fetchval("SELECT count(*) FROM mail_message_cards WHERE counterparty_id = $1", card) == 4
        assert await q.cursor(conn, mailbox, "INBOX") == (5, 4)


async def test_the_same_message_in_two_folders_or_after_a_new_uidvalidity_is_filed_once(db):
    async with db.acquire() as conn:
        mailbox, card = await _setup(conn)
        raw = bytes(message("ivan@shop.test", CRM_ADDRESS, "hello"))
        first = await file_message(conn, Where(mailbox, CRM_ADDRESS, "INBOX", 1), 7, raw, max_attachment_bytes=LIMIT)
        sent = await file_message(conn, Where(mailbox, CRM_ADDRESS, "Sent", 3), 2, raw, max_attachment_bytes=LIMIT)
        reread = await file_message(conn, Where(mailbox, CRM_ADDRESS, "INBOX", 2), 1, raw, max_attachment_bytes=LIMIT)
        assert first.status == "filed" and first.cards == (card,)
        assert sent.status == reread.status == "duplicate"
        assert await conn.fetchval("SELECT count(*) FROM mail_messages") == 1
        assert await q.cursor(conn, mailbox, "Sent") == (3, 2)
        assert await q.cursor(conn, mailbox, "INBOX") == (2, 1)  # the new UIDVALIDITY's cursor


async def test_filing_notifies_and_an_unknown_sender_is_unfiled(db, database_url):
    listener = await asyncpg.connect(database_url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(FILED_CHANNEL, lambda *a: heard.put_nowait(a[3]))
    try:
        async with db.acquire() as conn:
            mailbox, _ = await _setup(conn)
            filed = await file_message(conn, Where(mailbox, CRM_ADDRESS, "INBOX", 1), 1,
                                       bytes(message("who@nowhere.test", CRM_ADDRESS, "hi")), max_attachment_bytes=LIMIT)
        assert filed.status == "unfiled" and filed.cards == ()
        assert await asyncio.wait_for(heard.get(), 5) == str(filed.message_id)
    finally:
        await listener.close()


async def test_a_refused_message_is_kept_as_headers_or_passed_with_the_reason(db):
    async with db.acquire() as conn:
        mailbox, card = await _setup(conn)
        inbox = Where(mailbox, CRM_ADDRESS, "INBOX", 1)
        raw = bytes(message("ivan@shop.test", CRM_ADDRESS, "huge", "body " * 100))
        kept = await file_message(conn, inbox, 1, raw, max_attachment_bytes=LIMIT, plan="headers",
                                  reason="ProgramLimitExceededError: row too big")
        row = await conn.fetchrow("SELECT subject, body_text, problem FROM mail_messages WHERE id = $1",
                                  kept.message_id)
        assert row["subject"] == "huge" and row["body_text"] == ""
        assert "refused (ProgramLimitExceededError: row too big)" in row["problem"]
        assert kept.cards == (card,)
        await pass_message(conn, inbox, 2, "it would not go in")
        assert await q.cursor(conn, mailbox, "INBOX") == (1, 2)
        assert "UID 2 not stored: it would not go in" in await conn.fetchval("SELECT last_error FROM mailboxes")


async def test_a_reply_written_in_the_crm_seen_in_sent_is_not_filed_again_and_learns_its_folder(db):
    async with db.acquire() as conn:
        mailbox, card = await _setup(conn)
        reply = message(CRM_ADDRESS, "ivan@shop.test", "Re: order", message_id="<reply-1@crm>")
        out = await conn.fetchval(
            "INSERT INTO mail_messages (direction, mailbox_id, message_id, status, subject, from_address) "
            "VALUES ('out', $1, 'reply-1@crm', 'sent', 'Re: order', $2) RETURNING id", mailbox, CRM_ADDRESS)
        # A stranger's message reusing its Message-ID is not filed, and does not move the reply.
        forged = message("mallory@evil.test", CRM_ADDRESS, "Re: order", message_id="<reply-1@crm>")
        assert (await file_message(conn, Where(mailbox, CRM_ADDRESS, "INBOX", 9), 3, bytes(forged),
                                   max_attachment_bytes=LIMIT)).status == "duplicate"
        assert await conn.fetchval("SELECT uid FROM mail_messages WHERE id = $1", out) is None
        seen = await file_message(conn, Where(mailbox, CRM_ADDRESS, "Sent", 9), 4, bytes(reply),
                                  max_attachment_bytes=LIMIT)
        assert seen.status == "duplicate"
        row = await conn.fetchrow("SELECT direction, folder, uidvalidity, uid FROM mail_messages WHERE id = $1", out)
        assert tuple(row) == ("out", "Sent", 9, 4)
        assert await conn.fetchval("SELECT count(*) FROM mail_messages") == 1
        assert await q.cursor(conn, mailbox, "Sent") == (9, 4)
