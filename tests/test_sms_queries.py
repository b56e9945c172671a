"""crm.sms.queries against PostgreSQL: a message's path from queued to its one final status (issue 21)."""

import asyncio
import json

from crm.sms import queries as q


async def _gateway(conn) -> int:
    gid = await conn.fetchval("INSERT INTO sms_gateways (name, kind, config) VALUES ('smsc', 'smpp', $1) RETURNING id",
                              json.dumps({"host": "127.0.0.1"}))
    await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ('+74950000000', $1, true)", gid)
    return gid


async def _counterparty(conn, phone: str) -> int:
    cid = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'Иванов') RETURNING id")
    await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) VALUES ($1, 'phone', $2, $2)",
                       cid, phone)
    return cid


async def test_queued_claimed_submitted_and_delivered_part_by_part(db):
    async with db.acquire() as conn:
        gid = await _gateway(conn)
        number = await q.gateway_for(conn, None)
        assert number["gateway_id"] == gid
        mid = await q.queue_outgoing(conn, phone="+79161234567", body="Ж" * 200, counterparty_id=None, user_id=None,
                                     own_number=number["number"], gateway_id=gid)
        claimed = await q.claim_due(conn, "w1", gid, 10, 30)
        assert [r["id"] for r in claimed] == [mid] and claimed[0]["parts"] == 3
        assert await q.claim_due(conn, "w2", gid, 10, 30) == []
        await q.record_submitted(conn, mid, gid, [(1, "a"), (2, "b"), (3, "c")])
        assert await q.apply_receipt(conn, gid, "a", "delivered") is None
        assert await q.apply_receipt(conn, gid, "b", "delivered") is None
        assert await q.apply_receipt(conn, gid, "c", "delivered") == mid
        assert await q.apply_receipt(conn, gid, "c", "undelivered") is None  # repeated: nothing moves
        statuses = [r["status"] for r in await q.history(conn, mid)]
        assert statuses == ["queued", "submitting", "submitted", "delivered"]


async def test_the_receipts_of_all_parts_at_once_still_finish_the_message(db):
    async with db.acquire() as conn:
        gid = await _gateway(conn)
        mid = await q.queue_outgoing(conn, phone="+79161234567", body="Ж" * 200, counterparty_id=None, user_id=None,
                                     own_number="+74950000000", gateway_id=gid)
        await q.claim_due(conn, "w1", gid, 10, 30)
        await q.record_submitted(conn, mid, gid, [(1, "a"), (2, "b"), (3, "c")])

    async def receipt(provider_id: str):
        async with db.acquire() as conn:
            async with conn.transaction():
                finished = await q.apply_receipt(conn, gid, provider_id, "delivered")
                await conn.execute("SELECT pg_sleep(0.3)")  # the three transactions overlap
                return finished

    assert sorted(map(str, await asyncio.gather(*(receipt(i) for i in "abc")))) == sorted(["None", "None", str(mid)])
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM sms_messages WHERE id = $1", mid) == "delivered"


async def test_a_receipt_before_the_submit_is_recorded_and_interrupted_claims(db):
    async with db.acquire() as conn:
        gid = await _gateway(conn)
        first = await q.queue_outgoing(conn, phone="+79161234567", body="hi", counterparty_id=None, user_id=None,
                                       own_number="+74950000000", gateway_id=gid)
        second = await q.queue_outgoing(conn, phone="+79161234568", body="hi", counterparty_id=None, user_id=None,
                                        own_number="+74950000000", gateway_id=gid)
        await q.claim_due(conn, "w1", gid, 10, 0)
        await conn.execute("INSERT INTO sms_parts (message_id, seq, gateway_id, provider_message_id, status) "
                           "VALUES ($1, 1, $2, 'x', 'submitted')", first, gid)
        assert await q.recover_interrupted(conn) == 2
        rows = {r["id"]: r["status"] for r in await conn.fetch("SELECT id, status FROM sms_messages")}
        assert rows == {first: "submitted", second: "failed"}
        assert await q.apply_receipt(conn, gid, "x", "undelivered", "stat:UNDELIV") == first


async def test_incoming_lands_on_the_card_of_its_number(db):
    async with db.acquire() as conn:
        cid = await _counterparty(conn, "+79161234567")
        row = await q.record_incoming(conn, phone="+79161234567", own_number="+74950000000", body="Привет",
                                      gateway_id=None)
        assert row["counterparty_id"] == cid
        chat = await q.for_counterparty(conn, cid)
        assert [(m["direction"], m["body"], m["status"]) for m in chat] == [("in", "Привет", "received")]
