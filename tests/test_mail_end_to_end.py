"""`pbxcrm mail` as its own process against a real Dovecot (issue 23, Done when): 100 messages filed on
the right cards, exactly once through a SIGKILL mid-batch; a 25 MB attachment; the IMAP server dropping
the connection; new mail filed within seconds through IDLE; SIGTERM."""

from __future__ import annotations

import collections
import signal
import time

import pytest

from tests.mail_poller_support import (
    CRM_ADDRESS,
    add_card,
    add_mailbox,
    message,
    start_dovecot,
    start_poller,
    wait_until,
)
from tests.tcp_proxy import TcpProxy, closed_port

MALFORMED = (b"From: Client Three <client3@shop.test>\r\nTo: crm@example.test\r\nSubject: broken\r\n"
             b"Message-ID: <malformed@shop.test>\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"nowhere\"\r\n\r\n"
             b"--elsewhere\r\nContent-Type: text/plain; charset=no-such-charset\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\xff\xfe\r\n")


@pytest.fixture
def dovecot():
    server = start_dovecot()
    yield server
    server.close()


async def _count(db, sql: str = "SELECT count(*) FROM mail_messages", *args) -> int:
    async with db.acquire() as conn:
        return await conn.fetchval(sql, *args)


def _hundred(cards: dict[int, str]) -> tuple[list[bytes], collections.Counter]:
    """100 messages: from ten clients (some replies in threads, some with attachments), one from a
    stranger's address, one sent by the CRM's own address to a client, one copied to two clients, one
    without From, and one malformed; and how many each card should get."""
    expected: collections.Counter = collections.Counter()
    raws: list[bytes] = []
    last_from: dict[int, object] = {}
    for i in range(95):
        n = i % 10
        attachment = (f"invoice-{i}.pdf", bytes([i]) * 150_000) if i % 7 == 0 else None
        parent = last_from.get(n) if i % 4 == 1 else None
        msg = message(f"Client {n} <{cards[n]}>", CRM_ADDRESS, f"order {i}", f"body {i}", attachment=attachment,
                      reply_to=parent)  # type: ignore[arg-type]
        last_from[n] = msg
        raws.append(bytes(msg))
        expected[n] += 1
    raws.append(bytes(message("Stranger <stranger@nowhere.test>", CRM_ADDRESS, "who are you")))
    raws.append(bytes(message(f"Sales <{CRM_ADDRESS}>", cards[5], "our offer")))
    expected[5] += 1
    raws.append(bytes(message(f"Client 1 <{cards[1]}>", CRM_ADDRESS, "meet my colleague", cc=cards[2])))
    expected[1] += 1
    expected[2] += 1
    raws.append(bytes(message("", CRM_ADDRESS, "no sender", cc=cards[4])))  # no From: filed by its Cc
    expected[4] += 1
    raws.insert(50, MALFORMED)
    expected[3] += 1
    assert len(raws) == 100
    return raws, expected


async def test_hundred_messages_filed_on_their_cards_exactly_once_through_a_sigkill(db, database_url, dovecot,
                                                                                    tmp_path):
    async with db.acquire() as conn:
        await add_mailbox(conn, dovecot.port)
        card_ids = {n: await add_card(conn, f"Client {n}", f"client{n}@shop.test") for n in range(10)}
    raws, expected = _hundred({n: f"client{n}@shop.test" for n in range(10)})
    dovecot.deliver(CRM_ADDRESS, raws)
    pollers = [start_poller(database_url, tmp_path / "first.log")]
    try:
        await wait_until(lambda: _count(db), 20, "the first message filed", every=0.005)
        await wait_until(lambda: _count(db, "SELECT count(*) >= 10 FROM mail_messages"), 20, "ten filed",
                         every=0.005)
        pollers[0].proc.send_signal(signal.SIGKILL)
        pollers[0].proc.wait(5)
        async with db.acquire() as conn:  # one statement, one snapshot
            at_kill, cursor = await conn.fetchrow("SELECT (SELECT count(*) FROM mail_messages), "
                                                  "(SELECT last_uid FROM mail_cursors)")
        assert 0 < at_kill < 100, f"the kill came at {at_kill} of 100: not mid-batch"
        assert cursor == at_kill  # the cursor and the filed messages moved together

        pollers.append(start_poller(database_url, tmp_path / "second.log"))
        await wait_until(lambda: _count(db, "SELECT count(*) = 100 FROM mail_messages"), 60, "all 100 filed")
        stopped = time.monotonic()
        pollers[1].proc.send_signal(signal.SIGTERM)
        assert pollers[1].proc.wait(10) == 0
        assert time.monotonic() - stopped < 5, "SIGTERM took more than a few seconds"
    finally:
        for p in pollers:
            p.stop()

    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(DISTINCT message_id) FROM mail_messages") == 100
        assert await conn.fetchval("SELECT count(DISTINCT uid) FROM mail_messages") == 100
        assert await conn.fetchval("SELECT last_uid FROM mail_cursors") == 100
        per_card = {r["counterparty_id"]: r["n"] for r in await conn.fetch(
            "SELECT counterparty_id, count(*) AS n FROM mail_message_cards GROUP BY counterparty_id")}
        assert per_card == {card_ids[n]: expected[n] for n in range(10)}
        assert await conn.fetchval("SELECT count(*) FROM (SELECT message_id FROM mail_message_cards "
                                   "GROUP BY message_id, counterparty_id HAVING count(*) > 1) d") == 0
        unfiled = await conn.fetch("SELECT subject, from_address FROM mail_messages WHERE status = 'unfiled'")
        assert [(r["subject"], r["from_address"]) for r in unfiled] == [("who are you", "stranger@nowhere.test")]
        # The CRM's own address filed nothing on itself: the offer is on client 5's card only.
        offer = await conn.fetchval("SELECT array_agg(c.counterparty_id) FROM mail_messages m "
                                    "JOIN mail_message_cards c ON c.message_id = m.id WHERE m.subject = 'our offer'")
        assert offer == [card_ids[5]]
        broken = await conn.fetchrow("SELECT status, problem, from_address FROM mail_messages "
                                     "WHERE message_id = 'malformed@shop.test'")
        assert broken["status"] == "filed" and broken["from_address"] == "client3@shop.test"
        assert "malformed MIME" in broken["problem"] or "not decoded" in broken["problem"], broken["problem"]
        anonymous = await conn.fetchrow("SELECT status, problem FROM mail_messages WHERE subject = 'no sender'")
        assert anonymous["status"] == "filed" and "no sender address" in anonymous["problem"]
        # Replies joined their parent's thread.
        threaded = await conn.fetchval("SELECT count(*) FROM mail_messages m JOIN mail_messages p "
                                       "ON p.message_id = m.in_reply_to WHERE m.thread_id = p.thread_id")
        assert threaded >= 20
        assert await conn.fetchval("SELECT count(*) FROM mail_messages WHERE in_reply_to <> '' "
                                   "AND thread_id = id") == 0
        attachments = await conn.fetch("SELECT size_bytes, length(content) AS kept FROM mail_attachments")
        assert len(attachments) == len([i for i in range(95) if i % 7 == 0])
        assert all(a["size_bytes"] == a["kept"] == 150_000 for a in attachments)
    # Never the \Seen flag.
    assert all(b"\\Seen" not in f for f in dovecot.flags(CRM_ADDRESS)), dovecot.flags(CRM_ADDRESS)[:3]


async def test_hundred_messages_filing_time(db, database_url, dovecot, tmp_path):
    async with db.acquire() as conn:
        await add_mailbox(conn, dovecot.port)
        for n in range(10):
            await add_card(conn, f"Client {n}", f"client{n}@shop.test")
    raws, _ = _hundred({n: f"client{n}@shop.test" for n in range(10)})
    dovecot.deliver(CRM_ADDRESS, raws)
    started = time.monotonic()
    poller = start_poller(database_url, tmp_path / "poller.log")
    try:
        await wait_until(lambda: _count(db, "SELECT count(*) = 100 FROM mail_messages"), 60, "all 100 filed",
                         every=0.02)
        seconds = time.monotonic() - started
    finally:
        poller.stop()
    print(f"\n100 messages filed in {seconds:.2f} s from the poller's start")
    assert seconds < 30


async def test_a_25_mb_attachment_is_listed_not_kept_and_the_next_message_is_filed(db, database_url, dovecot,
                                                                                   tmp_path):
    async with db.acquire() as conn:
        await add_mailbox(conn, dovecot.port)
        card = await add_card(conn, "Big sender", "big@shop.test")
    huge = message("big@shop.test", CRM_ADDRESS, "the scans", attachment=("scans.zip", b"\x01" * (25 * 1024 * 1024)))
    small = message("big@shop.test", CRM_ADDRESS, "and a note")
    dovecot.deliver(CRM_ADDRESS, [bytes(huge), bytes(small)])
    poller = start_poller(database_url, tmp_path / "poller.log")
    try:
        await wait_until(lambda: _count(db, "SELECT count(*) = 2 FROM mail_messages"), 60, "both filed")
    finally:
        poller.stop()
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT m.problem, a.filename, a.size_bytes, a.content IS NULL AS dropped "
                                  "FROM mail_messages m JOIN mail_attachments a ON a.message_id = m.id "
                                  "WHERE m.subject = 'the scans'")
        assert row["filename"] == "scans.zip" and row["size_bytes"] == 25 * 1024 * 1024 and row["dropped"]
        assert "over the limit" in row["problem"]
        assert await conn.fetchval("SELECT count(*) FROM mail_message_cards WHERE counterparty_id = $1", card) == 2


async def test_the_poller_reconnects_when_the_server_drops_it_and_the_other_mailboxes_go_on(
        db, database_url, dovecot, tmp_path):
    proxy = await TcpProxy("127.0.0.1", dovecot.port).start()
    async with db.acquire() as conn:
        good = await add_mailbox(conn, proxy.port)
        dead = await add_mailbox(conn, closed_port(), address="other@example.test")
        await add_card(conn, "Client", "client@shop.test")
    poller = start_poller(database_url, tmp_path / "poller.log", PBXCRM_MAIL_POLL_SECONDS="300")
    try:
        dovecot.deliver(CRM_ADDRESS, [bytes(message("client@shop.test", CRM_ADDRESS, "one"))])
        await wait_until(lambda: _count(db, "SELECT count(*) = 1 FROM mail_messages"), 15, "the first filed",
                         logs=poller.log_text)
        # The connection cut under the poller (it was idling): it reconnects and reads on.
        proxy.blackhole()
        proxy.restore()
        connections = proxy.connections
        await wait_until(lambda: _async(proxy.connections > connections), 15, "a new connection",
                         logs=poller.log_text)
        dovecot.deliver(CRM_ADDRESS, [bytes(message("client@shop.test", CRM_ADDRESS, "two"))])
        await wait_until(lambda: _count(db, "SELECT count(*) = 2 FROM mail_messages"), 15, "the second filed",
                         logs=poller.log_text)
        # Dovecot itself restarted (every connection dropped, the port closed a moment).
        dovecot.restart()
        dovecot.deliver(CRM_ADDRESS, [bytes(message("client@shop.test", CRM_ADDRESS, "three"))])
        await wait_until(lambda: _count(db, "SELECT count(*) = 3 FROM mail_messages"), 30, "the third filed",
                         logs=lambda: poller.log_text() + dovecot.log_text())
        async with db.acquire() as conn:
            states = {r["id"]: r for r in await conn.fetch("SELECT id, last_error, last_polled_at FROM mailboxes")}
        assert "refused" in states[dead]["last_error"].lower(), states[dead]["last_error"]
        assert states[good]["last_polled_at"] is not None
    finally:
        poller.stop()
        await proxy.close()
    assert "reconnecting" in poller.log_text()
    async with db.acquire() as conn:
        assert [r["subject"] for r in await conn.fetch("SELECT subject FROM mail_messages ORDER BY id")] == \
            ["one", "two", "three"]


async def _async(value):
    return value


async def test_new_mail_is_filed_within_seconds_through_idle(db, database_url, dovecot, tmp_path):
    async with db.acquire() as conn:
        await add_mailbox(conn, dovecot.port)
        card = await add_card(conn, "Client", "client@shop.test")
    # Read again only every 5 minutes: what is filed within seconds came through IDLE.
    poller = start_poller(database_url, tmp_path / "poller.log", PBXCRM_MAIL_POLL_SECONDS="300")
    try:
        async def polled() -> bool:
            async with db.acquire() as conn:
                return await conn.fetchval("SELECT last_polled_at IS NOT NULL FROM mailboxes")
        await wait_until(polled, 15, "the mailbox read once")
        delivered = time.monotonic()
        dovecot.deliver(CRM_ADDRESS, [bytes(message("Client <client@shop.test>", CRM_ADDRESS, "are you there?"))])
        await wait_until(lambda: _count(db, "SELECT count(*) FROM mail_message_cards WHERE counterparty_id = $1",
                                        card), 5, "filed through IDLE", every=0.02)
        print(f"\nfiled {time.monotonic() - delivered:.2f} s after delivery")
    finally:
        poller.stop()
