"""A 1,000-recipient SMS campaign through the real path (issue 21's last "Done when"): an operator makes it
over HTTP from a tag filter and submits it, only a supervisor may approve it, and `pbxcrm sms` (the
campaign runner and the sender in one process) sends it to the SMSC (tests/smsc.pl) that throttles, refuses
some numbers and answers UNDELIV for others; the worker is SIGKILLed mid-campaign and started again. Every
recipient ends with one status, nobody gets the text twice, the SMSC got each rendered text, the totals over
HTTP equal the database's and the SMSC's counts."""

from __future__ import annotations

import collections
import signal

from crm import tags
from crm.sms import model as sms_model
from tests.helpers import login, make_user
from tests.sms_support import Smsc, add_gateway, start_fast_worker, wait_until

CLIENTS = 1000
REFUSED, UNDELIV = "+7900555", "+7999"  # the SMSC refuses the first, answers UNDELIV for the second
WINDOW = 20  # the gateway's window: at most this many in flight when the worker is killed


async def _clients(pool, tag_id: int) -> None:
    """CLIENTS tagged clients in one statement: every 10th from 3 on a refused number, from 7 an UNDELIV one,
    every 25th opted out of SMS."""
    async with pool.acquire() as conn:
        await conn.execute(
            """WITH c AS (INSERT INTO counterparties (kind, last_name, first_name, sms_opt_out_at)
                          SELECT 'client', 'Client' || n, 'N' || n, CASE WHEN n % 25 = 0 THEN now() END
                          FROM generate_series(1, $1) n RETURNING id, substr(first_name, 2)::int AS n),
                    p AS (SELECT id, CASE n % 10 WHEN 3 THEN $2 || lpad(n::text, 4, '0')
                                                 WHEN 7 THEN $3 || lpad(n::text, 7, '0')
                                                 ELSE '+7916' || lpad(n::text, 7, '0') END AS phone FROM c),
                    k AS (INSERT INTO contacts (counterparty_id, kind, value, normalized)
                          SELECT id, 'phone', phone, phone FROM p)
               INSERT INTO counterparty_tags (counterparty_id, tag_id) SELECT id, $4 FROM c""",
            CLIENTS, REFUSED, UNDELIV, tag_id)


def _as(web, name: str) -> None:
    web.cookies.clear()
    assert login(web, name).status_code == 303


def _act(web, campaign_id: int, action: str) -> int:
    return web.post(f"/sms/campaigns/{campaign_id}/{action}", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                    follow_redirects=False).status_code


def _worker(database_url: str, tmp_path, name: str):
    return start_fast_worker(database_url, tmp_path / f"{name}.log")


async def test_a_1000_recipient_campaign_approved_throttled_and_a_killed_worker(web, db, database_url, tmp_path):
    boris = await make_user(db, "boris", "supervisor")
    await make_user(db, "olga", "operator")
    async with db.acquire() as conn:
        winter = await tags.save_tag(conn, boris["id"], None, tags.TagInput("Winter"))
    await _clients(db, winter)
    smsc = Smsc(tmp_path / "smsc", throttle_every=7, fail_to="^" + REFUSED[1:], undeliv_to="^" + UNDELIV[1:]).start()
    workers = []
    try:
        async with db.acquire() as conn:
            await add_gateway(conn, smsc.config(window=WINDOW, rate=400))

        _as(web, "olga")  # an operator makes it and submits it; she may not approve it
        r = web.post("/sms/campaigns", data={
            "csrf_token": web.cookies["pbxcrm_csrf"], "name": "Winter sale", "body": "Dear {name}, winter sale!",
            "window_from": "0", "window_to": "24", "max_parts": "1", "source": "tags", "tag": str(winter)},
            files={"file": ("", b"", "application/octet-stream")}, follow_redirects=False)
        assert r.status_code == 303, r.text
        campaign_id = int(r.headers["location"].rsplit("/", 1)[1])
        assert _act(web, campaign_id, "submit") == 303
        assert _act(web, campaign_id, "approve") == 403
        assert web.get(f"/api/sms/campaigns/{campaign_id}").json()["status"] == "awaiting_approval"
        _as(web, "boris")
        assert _act(web, campaign_id, "approve") == 303

        workers.append(_worker(database_url, tmp_path, "first"))

        async def accepted_at_least(n: int) -> bool:
            return len(smsc.accepted()) >= n
        await wait_until(lambda: accepted_at_least(300), 20, "300 accepted at the SMSC")
        workers[0].proc.send_signal(signal.SIGKILL)
        workers[0].proc.wait(5)
        assert len(smsc.accepted()) < CLIENTS - CLIENTS // 25 - CLIENTS // 10  # killed mid-campaign
        workers.append(_worker(database_url, tmp_path, "second"))

        async def done() -> bool:
            return web.get(f"/api/sms/campaigns/{campaign_id}").json()["status"] == "done"
        await wait_until(done, 30, "the campaign done")

        progress = web.get(f"/api/sms/campaigns/{campaign_id}").json()
        async with db.acquire() as conn:
            rows = await conn.fetch(
                """SELECT r.phone, r.name, r.body, r.status, r.skip_reason, r.message_id,
                          m.status AS message_status, m.error, m.body AS message_body, m.phone AS message_phone
                   FROM sms_campaign_recipients r LEFT JOIN sms_messages m ON m.id = r.message_id
                   WHERE r.campaign_id = $1 ORDER BY r.id""", campaign_id)
            finals = await conn.fetch(
                "SELECT h.message_id, count(*) AS n FROM sms_status_history h JOIN sms_messages m ON m.id = h.message_id "
                "WHERE m.campaign_id = $1 AND h.status = ANY($2::text[]) GROUP BY h.message_id",
                campaign_id, list(sms_model.FINAL))
            messages = await conn.fetchval("SELECT count(*) FROM sms_messages WHERE campaign_id = $1", campaign_id)
    finally:
        for w in workers:
            w.stop()
        smsc.stop()

    # Every recipient: skipped with its reason (the opted out), or queued once with a final message.
    assert len(rows) == CLIENTS
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert len(skipped) == CLIENTS // 25 and {r["skip_reason"] for r in skipped} == {"opted_out"}
    assert all(r["message_id"] is None for r in skipped)
    queued = [r for r in rows if r["status"] == "queued"]
    assert len(queued) + len(skipped) == CLIENTS and messages == len(queued)
    assert all(r["message_status"] in sms_model.FINAL for r in queued)
    assert len(finals) == len(queued) and {f["n"] for f in finals} == {1}
    # The text rendered per recipient, and sent as such.
    assert all(r["body"] == r["message_body"] == f"Dear {r['name']}, winter sale!" and r["name"].startswith("Client")
               and r["message_phone"] == r["phone"] for r in queued)

    # At the SMSC: nobody twice; what went is exactly what was delivered or undelivered, and what the kill
    # interrupted (at most the killed worker's window: at most once, so those are not sent again).
    sent = collections.Counter(("+" + s["to"], s["text"]) for s in smsc.accepted())
    assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1][:5]
    destinations = collections.Counter("+" + s["to"] for s in smsc.accepted())
    assert max(destinations.values()) == 1
    assert [s for s in smsc.submits() if s["status"] == 0x58]  # the SMSC did throttle
    interrupted = [r for r in queued if r["message_status"] == "failed" and "interrupted" in r["error"]]
    assert len(interrupted) <= WINDOW
    for r in queued:
        went = (r["phone"], r["body"]) in sent
        if r in interrupted:
            continue
        if r["phone"].startswith(REFUSED):
            assert r["message_status"] == "failed" and "ESME_RINVDSTADR" in r["error"] and not went, r
        elif r["phone"].startswith(UNDELIV):
            assert r["message_status"] == "undelivered" and went, r
        else:
            assert r["message_status"] == "delivered" and went, r
    by_status = collections.Counter(r["message_status"] for r in queued)
    went_interrupted = sum((r["phone"], r["body"]) in sent for r in interrupted)
    assert len(sent) == by_status["delivered"] + by_status["undelivered"] + went_interrupted
    assert by_status["undelivered"] > 80 and by_status["failed"] > 80 and by_status["delivered"] > 600

    # The campaign's totals over HTTP equal those counts.
    totals = progress["totals"]
    assert progress["status"] == "done"
    assert totals == {"recipients": CLIENTS, "pending": 0, "queued": len(queued), "skipped": len(skipped),
                      "sending": 0, "sent": by_status["delivered"] + by_status["undelivered"],
                      "delivered": by_status["delivered"], "failed": by_status["failed"] + by_status["undelivered"]}
    assert totals["sent"] == len(sent) - went_interrupted
