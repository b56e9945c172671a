"""SMS through a GSM gateway speaking SIP MESSAGE (issue 21), against the sandbox Asterisk: a sipp
"GSM gateway" (endpoint gsmgw, 127.0.0.2 in asterisk-conf/pjsip.conf) sends a MESSAGE, the Stasis app
gets TextMessageReceived and the text lands on the client's card; our reply, sent by the
`pbxcrm sms` worker through ARI sendMessage (smsd/sip_message.py), reaches the gateway as a MESSAGE."""

from __future__ import annotations

import asyncio
import json

from crm.settings import Settings
from crm.sms import queries as q
from crm.sms.gateway import Outgoing
from smsd.sip_message import SipMessageGateway
from tests.sms_support import start_worker
from tests.telephony import ASTERISK_SIP, SIPP_DIR, wait_for

GATEWAY_IP = "127.0.0.2"  # the sandbox gateway's address: pjsip.conf identifies gsmgw by it
GATEWAY_PORT = 5072  # its AOR's contact: where Asterisk sends our MESSAGEs
OUR_NUMBER = "+74951230000"


async def _gateway_and_card(db) -> tuple[int, int]:
    async with db.acquire() as conn:
        gid = await conn.fetchval("INSERT INTO sms_gateways (name, kind, config) VALUES ('GSM', 'sip', $1::jsonb) "
                                  "RETURNING id", json.dumps({"endpoint": "gsmgw", "from": OUR_NUMBER}))
        cid = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'Смирнова') "
                                  "RETURNING id")
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '+79161234567', '+79161234567')", cid)
    return gid, cid


async def _gateway_sends(sender: str, text: str, work_dir) -> str:
    """The sipp gateway sends one MESSAGE from `sender` to our number; what it sent and got if it failed."""
    trace = work_dir / "gateway-sends.log"
    trace.unlink(missing_ok=True)
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP_DIR / "gsm_gateway_sms.xml"), "-trace_msg", "-message_file", str(trace),
        "-key", "sender", sender,
        "-key", "recipient", OUR_NUMBER.lstrip("+"), "-key", "text", text, "-i", GATEWAY_IP, "-p", "5073",
        "-m", "1", "-nostdin", "-timeout", "10s", "-timeout_error", ASTERISK_SIP,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=str(work_dir))
    out, _ = await asyncio.wait_for(proc.communicate(), 15)
    if proc.returncode == 0:
        return ""
    return trace.read_text(errors="replace")[-2000:] + out.decode(errors="replace")[-500:]


async def _app_with_gateway(start_stasis_app):
    app = await start_stasis_app()
    assert await wait_for(lambda: "endpoint(s) gsmgw come to the app" in app.log_text(), timeout=5), app.log_text()
    return app


async def _chat(db, cid: int) -> list:
    async with db.acquire() as conn:
        return await q.for_counterparty(conn, cid)


async def test_a_gateways_message_lands_on_the_card_and_our_reply_goes_back_as_a_message(db, start_stasis_app,
                                                                                        database_url, tmp_path):
    gid, cid = await _gateway_and_card(db)
    app = await _app_with_gateway(start_stasis_app)
    text = "Здравствуйте! Перезвоните, пожалуйста, после 15:00."
    failed = await _gateway_sends("+79161234567", text, tmp_path)
    assert not failed, failed + app.log_text()
    chat = await wait_for(lambda: _chat(db, cid), timeout=5)
    assert [(m["direction"], m["body"], m["phone"], m["own_number"], m["status"]) for m in chat] == [
        ("in", text, "+79161234567", OUR_NUMBER, "received")], app.log_text()
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT gateway_id FROM sms_messages") == gid

    # The reply: queued as the card's chat queues it, sent by the `pbxcrm sms` worker through this
    # gateway (smsd/sip_message.py: ARI sendMessage); the sipp gateway takes the MESSAGE.
    reply = "Хорошо, перезвоним в 15:30 ✓"
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO sms_numbers (number, gateway_id, is_default) VALUES ($1, $2, true)",
                           OUR_NUMBER, gid)
        mid = await q.queue_outgoing(conn, phone="+79161234567", body=reply, counterparty_id=cid, user_id=None,
                                     own_number=OUR_NUMBER, gateway_id=gid)
    trace = tmp_path / "gateway-messages.log"
    gateway_proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP_DIR / "gsm_gateway_receive.xml"), "-i", GATEWAY_IP, "-p", str(GATEWAY_PORT),
        "-m", "1", "-nostdin", "-timeout", "15s", "-trace_msg", "-message_file", str(trace),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=str(tmp_path))
    worker = start_worker(database_url, tmp_path / "sms.log")
    try:
        assert await asyncio.wait_for(gateway_proc.wait(), 15) == 0, worker.log_text()

        async def submitted():
            async with db.acquire() as conn:
                return await conn.fetchval("SELECT status FROM sms_messages WHERE id = $1", mid) == "submitted"
        # SIP brings no delivery report: the 202 of sendMessage leaves it submitted (smsd/sip_message.py).
        assert await wait_for(submitted, timeout=5), worker.log_text()
    finally:
        worker.stop()
    received = trace.read_text(encoding="utf-8", errors="replace").split("MESSAGE sip:", 1)[1]
    request_line, headers_body = received.split("\n", 1)
    assert request_line.startswith(f"+79161234567@{GATEWAY_IP}:{GATEWAY_PORT}"), received
    assert f"From: <sip:{OUR_NUMBER}@" in headers_body, received
    assert reply in headers_body, received


async def test_a_message_from_an_unknown_number_is_kept_unattached(db, start_stasis_app, tmp_path):
    await _gateway_and_card(db)
    app = await _app_with_gateway(start_stasis_app)
    failed = await _gateway_sends("89990001122", "Кто это?", tmp_path)
    assert not failed, failed + app.log_text()

    async def stored():
        async with db.acquire() as conn:
            return await conn.fetchrow("SELECT phone, counterparty_id, body FROM sms_messages")
    row = await wait_for(stored, timeout=5)
    assert row is not None, app.log_text()
    assert (row["phone"], row["counterparty_id"], row["body"]) == ("+79990001122", None, "Кто это?")


async def test_an_unknown_endpoint_is_retried_later_not_refused(db):
    """A config naming an endpoint Asterisk lacks: the message waits (Retry) for the admin to fix it."""
    from crm.sms.gateway import Retry

    adapter = SipMessageGateway(1, {"endpoint": "no-such-gateway"}, Settings.from_env())
    try:
        await adapter.submit(Outgoing(2, "+79161234567", OUR_NUMBER, "hi"))
    except Retry as e:
        assert "no-such-gateway" in str(e)
    else:
        raise AssertionError("a missing endpoint was not a Retry")
    finally:
        await adapter.close()


async def test_once_the_app_stops_asterisk_refuses_the_message_so_the_gateway_keeps_it(db, start_stasis_app,
                                                                                       tmp_path):
    """pbxcrm ari stopped: it let go of the endpoint, so Asterisk answers 404, not a 202 for an app
    nobody listens to (Asterisk keeps the app registered and would drop the text); the gateway keeps it."""
    await _gateway_and_card(db)
    app = await _app_with_gateway(start_stasis_app)
    app.stop()
    assert "let go" in app.log_text(), app.log_text()
    failed = await _gateway_sends("+79161234567", "Алло?", tmp_path)
    assert "SIP/2.0 404" in failed, failed
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sms_messages") == 0
