"""The mail sender (web/mail_sender.py) as several web workers run it: each queued e-mail reaches the SMTP
server once, whichever worker holds the lock; the claim's lease brings back one left 'sending' by a worker
that died."""

import asyncio
import dataclasses

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.mail import replies
from tests.helpers import mailbox, make_user  # noqa: F401 (the SMTP server fixture)
from tests.mail_support import add_mailbox
from web.mail_sender import MailSender


async def _statuses(db) -> dict[str, int]:
    async with db.acquire() as conn:
        return dict(await conn.fetch("SELECT status, count(*) FROM mail_messages GROUP BY status"))


async def test_three_workers_send_each_email_once(db, settings, mailbox):
    op = await make_user(db, "op", "operator")
    async with db.acquire() as conn:
        client = await service.create(conn, op, CounterpartyInput(
            kind="client", last_name="Петров", contacts=(ContactInput("email", "ivan@mail.ru"),)), "RU")
        await add_mailbox(conn)
        ids = [await replies.queue(conn, op, client, None, "ivan@mail.ru", f"Письмо {i}", "Текст") for i in range(12)]
        # One a dead worker left 'sending' with its lease run out: taken again.
        await conn.execute("UPDATE mail_messages SET status = 'sending', attempts = 1, next_attempt_at = now() "
                           "WHERE id = $1", ids[0])
    workers = [MailSender(dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=mailbox.port))
               for _ in range(3)]
    for w in workers:
        w.start()
    try:
        for _ in range(300):
            if await _statuses(db) == {"sent": 12}:
                break
            await asyncio.sleep(0.1)
    finally:
        for w in workers:
            await w.stop()
    assert await _statuses(db) == {"sent": 12}
    subjects = sorted(s for s in mailbox.subjects_to("ivan@mail.ru"))
    assert len(subjects) == 12 and len(set(subjects)) == 12
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT attempts FROM mail_messages WHERE id = $1", ids[0]) == 2
