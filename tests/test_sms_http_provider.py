"""The HTTP provider adapter and its signed webhook (issue 21): smsd/http_provider.py against an
aiohttp server playing the provider; /sms/webhooks/<gateway id> through the in-process app, with no
login and no CSRF token, good and bad signatures."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web as aioweb

from crm.settings import Settings
from crm.sms import queries as q
from crm.sms.gateway import Outgoing, Refused, Retry, Submitted
from crm.sms.webhooks import SIGNATURE_HEADER, fresh, signature, signed
from smsd.http_provider import HttpGateway, retry_after, submitted

SECRET = "whsec-Тест-1"
SETTINGS = Settings(database_url="postgresql://unused")
LONG = "Добрый день! " * 16  # 208 UCS-2 characters: 4 parts


class Provider:
    """The provider's API: records each POST (headers and JSON) and answers the next scripted reply."""

    def __init__(self, replies: list[tuple[int, dict, dict]]):
        self.replies, self.posts = list(replies), []

    async def handle(self, request: aioweb.Request) -> aioweb.Response:
        self.posts.append((request.headers.get("Authorization"), await request.json()))
        status, body, headers = self.replies.pop(0)
        if status == 0:  # no answer in time
            await asyncio.sleep(1)
        return aioweb.json_response(body, status=status, headers=headers)


@pytest.fixture
async def provider():
    replies: list = []
    fake = Provider(replies)
    app = aioweb.Application()
    app.router.add_post("/send", fake.handle)
    runner = aioweb.AppRunner(app, access_log=None)
    await runner.setup()
    site = aioweb.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}/send"  # type: ignore[attr-defined]
    yield fake
    await runner.cleanup()


async def test_submit_outcomes_against_the_provider(provider):
    provider.replies += [(200, {"id": "p-1"}, {}), (200, {"ids": ["a", "b", "c", "d"]}, {}),
                         (429, {"error": "slow down"}, {"Retry-After": "7"}), (503, {}, {}),
                         (400, {"error": "invalid number"}, {})]
    adapter = HttpGateway(5, {"url": provider.url, "token": "tok-1", "webhook_secret": SECRET}, SETTINGS)
    try:
        assert await adapter.submit(Outgoing(11, "+79161234567", "+74951230000", "Привет")) == [Submitted(1, "p-1")]
        assert [s.provider_message_id for s in await adapter.submit(Outgoing(12, "+79161234567", "+7495", LONG))] == [
            "a", "b", "c", "d"]
        with pytest.raises(Retry) as throttled:
            await adapter.submit(Outgoing(13, "+79161234567", "+7495", "x"))
        assert throttled.value.after == 7
        with pytest.raises(Retry):
            await adapter.submit(Outgoing(14, "+79161234567", "+7495", "x"))
        with pytest.raises(Refused, match="invalid number"):
            await adapter.submit(Outgoing(15, "+7", "+7495", "x"))
    finally:
        await adapter.close()
    assert provider.posts[0] == ("Bearer tok-1", {"to": "+79161234567", "from": "+74951230000", "text": "Привет",
                                                  "reference": "11"})
    assert [body["reference"] for _, body in provider.posts] == ["11", "12", "13", "14", "15"]


async def test_a_provider_that_does_not_answer_is_retried_and_one_that_hangs_is_not_sent_again(provider,
                                                                                             monkeypatch):
    monkeypatch.setattr("smsd.http_provider.REQUEST_SECONDS", 0.3)
    provider.replies.append((0, {}, {}))
    hanging = HttpGateway(5, {"url": provider.url, "token": "t"}, SETTINGS)
    try:
        with pytest.raises(Refused, match="not sent again"):
            await hanging.submit(Outgoing(1, "+79161234567", "+7495", "x"))
    finally:
        await hanging.close()
    assert len(provider.posts) == 1
    down = HttpGateway(5, {"url": "http://127.0.0.1:9/send", "token": "t"}, SETTINGS)
    try:
        with pytest.raises(Retry):
            await down.submit(Outgoing(1, "+79161234567", "+7495", "x"))
    finally:
        await down.close()
    with pytest.raises(ValueError):
        HttpGateway(5, {"url": "ftp://x", "token": "t"}, SETTINGS)


def test_answers_and_retry_after_read_purely():
    assert submitted({"id": 42}, 3) == [Submitted(1, "42"), Submitted(2, None), Submitted(3, None)]
    assert submitted({"ids": ["x", "y"]}, 2) == [Submitted(1, "x"), Submitted(2, "y")]
    assert submitted("ok", 1) == [Submitted(1, None)]
    assert submitted({"id": True}, 1) == [Submitted(1, None)]
    assert retry_after("12") == 12 and retry_after(None) == 30 and retry_after("Wed, 21 Oct") == 30
    assert retry_after("0") == 1 and retry_after("99999") == 3600


def test_signatures_and_the_replay_window():
    body = '{"type": "incoming", "text": "Привет"}'.encode()
    good = signature(SECRET, body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert signed(SECRET, body, good) and signed(SECRET, body, f" {good} ")
    assert not signed(SECRET, body + b" ", good) and not signed("other", body, good)
    assert not signed(SECRET, body, None) and not signed("", body, signature("", body))
    assert fresh(1000, 1299) and fresh(1299, 1000) and not fresh(1000, 1301) and not fresh(1301, 1000)


async def _http_gateway(conn, kind: str = "http") -> int:
    return await conn.fetchval("INSERT INTO sms_gateways (name, kind, config) VALUES ($1, $2, $3::jsonb) RETURNING id",
                               f"Provider {kind}", kind,
                               json.dumps({"url": "https://sms.example/send", "token": "t", "webhook_secret": SECRET,
                                           "endpoint": "x"}))


def _post(web, gateway_id: int, event: dict, *, secret: str = SECRET, header: str | None = None):
    body = json.dumps({"timestamp": int(time.time()), **event}, ensure_ascii=False).encode()
    sig = header if header is not None else signature(secret, body)
    return web.post(f"/sms/webhooks/{gateway_id}", content=body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: sig})


async def test_a_signed_delivery_report_finishes_a_long_message_sent_under_one_id(db, web):
    async with db.acquire() as conn:
        gid = await _http_gateway(conn)
        mid = await q.queue_outgoing(conn, phone="+79161234567", body=LONG, counterparty_id=None, user_id=None,
                                     own_number="+74951230000", gateway_id=gid)
        await q.claim_due(conn, "test", gid, 1, 60)
        await q.record_submitted(conn, mid, gid, [(s.seq, s.provider_message_id) for s in submitted({"id": "p-9"}, 4)])
    # No session cookie, no CSRF token: the signature is the proof.
    assert _post(web, gid, {"type": "delivery", "id": "unknown", "status": "delivered"}).status_code == 404
    answer = _post(web, gid, {"type": "delivery", "id": "p-9", "status": "delivered"})
    assert answer.status_code == 200, answer.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM sms_messages WHERE id = $1", mid) == "delivered"
        assert [r["status"] for r in await q.history(conn, mid)][-1] == "delivered"
    assert _post(web, gid, {"type": "delivery", "id": "p-9"}).status_code == 400


async def test_a_signed_incoming_text_lands_on_the_card(db, web):
    async with db.acquire() as conn:
        gid = await _http_gateway(conn)
        cid = await conn.fetchval("INSERT INTO counterparties (kind, last_name) VALUES ('client', 'Орлов') RETURNING id")
        await conn.execute("INSERT INTO contacts (counterparty_id, kind, value, normalized) "
                           "VALUES ($1, 'phone', '+79161234567', '+79161234567')", cid)
    event = {"type": "incoming", "from": "89161234567", "to": "+74951230000", "text": "Жду звонка",
             "timestamp": int(time.time())}
    answer = _post(web, gid, event)
    assert answer.status_code == 200, answer.text
    # The same body again (a replay inside the time window, or the provider resending): stored once.
    again = _post(web, gid, event)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    async with db.acquire() as conn:
        chat = await q.for_counterparty(conn, cid)
    assert [(m["direction"], m["body"], m["own_number"], m["status"]) for m in chat] == [
        ("in", "Жду звонка", "+74951230000", "received")]
    # A body refused (no phone number in it) is not remembered: corrected, it is taken.
    bad = {**event, "from": "nobody"}
    assert _post(web, gid, bad).status_code == 400 and _post(web, gid, bad).status_code == 400


async def test_wrong_signatures_stale_bodies_and_other_gateways_are_refused_and_nothing_is_recorded(db, web):
    async with db.acquire() as conn:
        gid = await _http_gateway(conn)
        sip = await _http_gateway(conn, "sip")
    text = {"type": "incoming", "from": "+79161234567", "to": "+74951230000", "text": "подделка"}
    assert _post(web, gid, text, secret="not-the-secret").status_code == 403
    assert _post(web, gid, text, header="").status_code == 403
    assert _post(web, sip, text).status_code == 403  # not an HTTP gateway: no secret to sign with
    assert _post(web, 999, text).status_code == 403
    assert _post(web, 99999999999, text).status_code == 403
    stale = json.dumps({**text, "timestamp": int(time.time()) - 3600}).encode()
    answer = web.post(f"/sms/webhooks/{gid}", content=stale, headers={SIGNATURE_HEADER: signature(SECRET, stale)})
    assert answer.status_code == 403
    # A signed body changed on the way (a replay with a new time) no longer matches its signature.
    body = json.dumps({**text, "timestamp": int(time.time()) - 3600}).encode()
    forged = body.replace(b'"timestamp": ', b'"timestamp": 1')
    assert web.post(f"/sms/webhooks/{gid}", content=forged,
                    headers={SIGNATURE_HEADER: signature(SECRET, body)}).status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sms_messages") == 0
    # Only this path is open: the SMS list next to it still wants a login.
    assert web.get("/sms", follow_redirects=False).status_code == 302
    assert web.post("/sms/1/attach", data={"counterparty_id": "1"}).status_code == 403
