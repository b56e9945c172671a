"""crm.sms.inbox against PostgreSQL: incoming texts, STOP replies and the manager's notification (issue 21)."""

from crm.sms.gateway import Incoming
from crm.sms.inbox import Inbox, is_opted_out


async def _card_with_manager(conn, email_notify: bool) -> tuple[int, int]:
    uid = await conn.fetchval(
        "INSERT INTO users (login, full_name, password_hash, role, email, sms_email_notify) "
        "VALUES ('petrova', 'Петрова', 'x', 'manager', 'p@example.org', $1) RETURNING id", email_notify)
    cid = await conn.fetchval("INSERT INTO counterparties (kind, last_name, responsible_user_id) "
                              "VALUES ('client', 'Иванов', $1) RETURNING id", uid)
    await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                       "VALUES ($1, 'phone', '+79161234567', '+79161234567')", cid)
    return uid, cid


async def test_incoming_reaches_the_card_and_tells_its_manager_without_email_unless_asked(db):
    async with db.acquire() as conn:
        uid, cid = await _card_with_manager(conn, email_notify=False)
    mid = await Inbox(db, "RU").incoming(None, Incoming("89161234567", "+74950000000", "Перезвоните"))
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT counterparty_id FROM sms_messages WHERE id = $1", mid) == cid
        note = await conn.fetchrow("SELECT user_id, kind, title, body, url, email_wanted FROM notifications")
        assert (note["user_id"], note["kind"], note["body"], note["email_wanted"]) == (uid, "sms_in", "Перезвоните",
                                                                                        False)
        assert "Иванов" in note["title"] and note["url"] == f"/counterparties/{cid}#sms"


async def test_stop_opts_the_card_out_and_an_unknown_number_is_kept_unattached(db):
    async with db.acquire() as conn:
        _, cid = await _card_with_manager(conn, email_notify=True)
    inbox = Inbox(db, "RU")
    await inbox.incoming(None, Incoming("+79161234567", "+74950000000", "СТОП"))
    assert await inbox.incoming(None, Incoming("not a number", "+74950000000", "hi")) is None
    stranger = await inbox.incoming(None, Incoming("+79990001122", "+74950000000", "stop"))
    async with db.acquire() as conn:
        assert await is_opted_out(conn, "+79161234567", cid)
        assert await conn.fetchval("SELECT sms_opt_out_at IS NOT NULL FROM counterparties WHERE id = $1", cid)
        assert await conn.fetchval("SELECT counterparty_id FROM sms_messages WHERE id = $1", stranger) is None
        assert await is_opted_out(conn, "+79990001122", None)
        assert not await is_opted_out(conn, "+79990001123", None)
        assert await conn.fetchval("SELECT email_wanted FROM notifications") is True
