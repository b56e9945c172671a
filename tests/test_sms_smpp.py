"""The SMPP gateway and the sender against a real SMSC on loopback (tests/smsc.pl, Net::SMPP), issue 21:
long Cyrillic texts as UCS-2 parts with a UDH, receipts, incoming messages, a refused bind."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time

import pytest

from crm.sms import queries as q
from smsd.worker import Sender
from tests.sms_support import Smsc, add_gateway, queue

CYRILLIC_200 = ("Здравствуйте! Ваш заказ номер 4521 собран и будет доставлен завтра с десяти до четырнадцати. "
                "Курьер позвонит за час. Если время неудобно, ответьте на это сообщение, и мы перенесём доставку на среду!!!")


@pytest.fixture
def smsc(tmp_path):
    peer = Smsc(tmp_path / "smsc", undeliv_to="^79990", drop_to="^79995").start()
    yield peer
    peer.stop()


@pytest.fixture
async def sender(db, settings):
    """The sender in this process; `start()` runs it until the test ends."""
    from crm.sms.inbox import Inbox

    stop = asyncio.Event()
    tasks = []

    def start() -> Sender:
        worker = Sender(dataclasses.replace(settings, sms_retry_base_seconds=1, sms_lease_seconds=5,
                                                 sms_reload_seconds=1), db,
                        Inbox(db, "RU"))
        tasks.append(asyncio.create_task(worker.run(stop)))
        return worker

    yield start
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def _card(conn, phone: str) -> int:
    cid = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'Смирнова') "
                              "RETURNING id")
    await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) VALUES ($1, 'phone', $2, $2)",
                       cid, phone)
    return cid


async def _wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


async def _one_sent(db, smsc: Smsc, sender, phone: str, body: str, status: str) -> tuple[int, int]:
    """A gateway to the SMSC, one message queued, the sender started: (gateway, message) once it has `status`."""
    async with db.acquire() as conn:
        gateway = await add_gateway(conn, smsc.config())
        mid = await queue(conn, gateway, phone, body)
    sender()
    await _wait_for(lambda: _is(db, mid, status))
    return gateway, mid


async def _status(db, message_id: int) -> str:
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT status FROM sms_messages WHERE id = $1", message_id)


async def test_a_200_character_cyrillic_text_goes_as_3_ucs2_parts_and_its_receipt_delivers_it(db, smsc, sender):
    assert len(CYRILLIC_200) == 200
    async with db.acquire() as conn:
        gateway = await add_gateway(conn, smsc.config())
        cid = await _card(conn, "+79161234567")
    sender()
    await _wait_for(lambda: _bound(smsc))
    async with db.acquire() as conn:
        mid = await queue(conn, gateway, "+79161234567", CYRILLIC_200, cid)
    queued = time.monotonic()
    await _wait_for(lambda: _is(db, mid, "delivered"), timeout=5)
    assert time.monotonic() - queued < 2.0

    parts = smsc.accepted()
    assert len(parts) == 3
    assert {p["data_coding"] for p in parts} == {8}
    assert [p["udh"][:6] for p in parts] == ["050003"] * 3  # concatenation, 8-bit reference
    refs = {p["udh"][6:8] for p in parts}
    assert len(refs) == 1 and [p["udh"][8:] for p in parts] == ["0301", "0302", "0303"]
    assert "".join(p["text"] for p in parts) == CYRILLIC_200
    assert {(p["to"], p["from"]) for p in parts} == {("79161234567", "74950000001")}
    async with db.acquire() as conn:
        history = [r["status"] for r in await q.history(conn, mid)]
        assert history == ["queued", "submitting", "submitted", "delivered"]
        assert await conn.fetchval("SELECT count(*) FROM sms_parts WHERE message_id = $1 AND status = 'delivered'",
                                   mid) == 3


async def test_a_gsm_text_goes_as_one_part_and_an_undelivered_receipt_says_so(db, smsc, sender):
    _, mid = await _one_sent(db, smsc, sender, "+79990001122", "Your code: 1234 [ok] €5", "undelivered")
    (part,) = smsc.accepted()
    assert (part["data_coding"], part["udh"], part["esm_class"]) == (0, "", 0)
    # GSM 03.38 octets as the SMSC read them: the extension characters behind the escape (0x1B).
    assert part["text"] == "Your code: 1234 \x1b<ok\x1b> \x1be5"
    async with db.acquire() as conn:
        assert "UNDELIV" in await conn.fetchval("SELECT error FROM sms_messages WHERE id = $1", mid)


async def test_an_incoming_message_in_two_ucs2_parts_lands_on_the_known_clients_card(db, smsc, sender):
    async with db.acquire() as conn:
        await add_gateway(conn, smsc.config())
        cid = await _card(conn, "+79161234567")
    sender()
    await _wait_for(lambda: _bound(smsc))
    text = "Добрый день, перезвоните мне, пожалуйста, насчёт доставки заказа номер 4521 после обеда, удобно после 15"
    smsc.send_mo("79161234567", "74950000001", text, parts=2)

    async def on_card():
        async with db.acquire() as conn:
            return await q.for_counterparty(conn, cid)

    (message,) = await _wait_for(on_card)
    assert (message["direction"], message["body"], message["phone"], message["own_number"]) == \
        ("in", text, "+79161234567", "+74950000001")


async def test_a_refused_bind_is_logged_and_the_messages_wait_then_go(db, smsc, sender, caplog):
    smsc.refuse_binds(True)
    async with db.acquire() as conn:
        gateway = await add_gateway(conn, smsc.config())
        ids = [await queue(conn, gateway, f"+7916123456{i}", f"hello {i}") for i in range(3)]
    with caplog.at_level(logging.ERROR, logger="smsd.smpp"):
        sender()
        await _wait_for(lambda: _logged(caplog, "bind refused: ESME_RBINDFAIL (0x0D)"))
        await asyncio.sleep(1.5)
    assert [await _status(db, i) for i in ids] == ["queued"] * 3
    assert smsc.submits() == []
    smsc.refuse_binds(False)
    for mid in ids:
        await _wait_for(lambda mid=mid: _is(db, mid, "delivered"))
    assert sorted(p["text"] for p in smsc.accepted()) == ["hello 0", "hello 1", "hello 2"]


async def test_the_link_is_kept_alive_and_a_restarted_smsc_is_bound_again(db, smsc, sender):
    async with db.acquire() as conn:
        gateway = await add_gateway(conn, smsc.config(enquire_link_seconds=0.2))
    sender()
    await _wait_for(lambda: _bound(smsc))
    await _wait_for(lambda: _logged_by(smsc, "enquire_link", times=3), timeout=3)
    smsc.stop()
    async with db.acquire() as conn:
        mid = await queue(conn, gateway, "+79161234567", "after the restart")
    await asyncio.sleep(0.5)
    assert await _status(db, mid) == "queued"  # not bound: left queued, not tried and failed
    smsc.start()
    await _wait_for(lambda: _is(db, mid, "delivered"))
    assert [s["text"] for s in smsc.accepted()] == ["after the restart"]


async def test_a_gateway_the_admin_points_elsewhere_is_reconnected_there(db, smsc, sender, tmp_path):
    other = Smsc(tmp_path / "other").start()
    try:
        async with db.acquire() as conn:
            gateway = await add_gateway(conn, smsc.config())
        sender()
        await _wait_for(lambda: _bound(smsc))
        async with db.acquire() as conn:
            await conn.execute("UPDATE sms_gateways SET config = $2 WHERE id = $1", gateway,
                               json.dumps(other.config()))
        await _wait_for(lambda: _bound(other), timeout=5)
        async with db.acquire() as conn:
            mid = await queue(conn, gateway, "+79161234567", "through the other one")
        await _wait_for(lambda: _is(db, mid, "delivered"))
        assert smsc.accepted() == [] and [s["text"] for s in other.accepted()] == ["through the other one"]
    finally:
        other.stop()


async def test_a_gateway_with_a_bad_config_is_reported_once_and_the_others_send(db, smsc, sender, caplog):
    async with db.acquire() as conn:
        await conn.execute("""INSERT INTO sms_gateways (name, kind, config) VALUES ('broken', 'smpp', '{"port": 1}')""")
        gateway = await add_gateway(conn, smsc.config())
        mid = await queue(conn, gateway, "+79161234567", "still sent")
    with caplog.at_level(logging.ERROR, logger="smsd.worker"):
        sender()
        await _wait_for(lambda: _is(db, mid, "delivered"))
        await asyncio.sleep(1.2)  # a reload or two later
    errors = [r.getMessage() for r in caplog.records if "not started" in r.getMessage()]
    assert errors == ["sms gateway 1 (smpp) not started: SMPP gateway: host is required"]


async def test_a_submit_the_smsc_took_without_answering_fails_and_is_never_sent_again(db, smsc, sender):
    gateway, lost = await _one_sent(db, smsc, sender, "+79995000000", "lost answer", "failed")
    async with db.acquire() as conn:
        assert "not sent again" in await conn.fetchval("SELECT error FROM sms_messages WHERE id = $1", lost)
        after = await queue(conn, gateway, "+79161234567", "next one")
    await _wait_for(lambda: _is(db, after, "delivered"))  # bound again
    assert [s["to"] for s in smsc.submits()] == ["79995000000", "79161234567"]


async def _logged_by(smsc: Smsc, line: str, times: int) -> bool:
    return (smsc.dir / "smsc.log").read_text().count(line) >= times


async def _logged(caplog, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)


async def _is(db, message_id: int, status: str) -> bool:
    return await _status(db, message_id) == status


async def _bound(smsc: Smsc) -> bool:
    return "bound pbxcrm" in (smsc.dir / "smsc.log").read_text()
