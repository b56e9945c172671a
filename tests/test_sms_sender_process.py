"""`pbxcrm sms` as its own process against the SMSC (tests/smsc.pl), issue 21: 1,000 messages with the
SMSC throttling some and refusing some, the worker SIGKILLed half-way and started again; SIGTERM."""

from __future__ import annotations

import collections
import signal
import time

from crm.sms import model
from tests.processes import PbxcrmProcess
from tests.sms_support import Smsc, add_gateway, queue, start_fast_worker
from tests.sms_support import wait_until as _wait

MESSAGES = 1000


def _recipient(i: int) -> str:
    if i % 10 == 3:
        return f"+7900555{i:04d}"  # the SMSC refuses these (ESME_RINVDSTADR)
    if i % 10 == 7:
        return f"+7999{i:07d}"  # accepted, then an UNDELIV receipt
    return f"+7916{i:07d}"


def _worker(database_url: str, tmp_path, name: str) -> PbxcrmProcess:
    return start_fast_worker(database_url, tmp_path / f"{name}.log")


async def test_1000_messages_throttled_and_refused_some_and_a_killed_worker_send_each_at_most_once(
        db, database_url, tmp_path):
    smsc = Smsc(tmp_path / "smsc", throttle_every=7, fail_to="^7900555", undeliv_to="^7999").start()
    workers = []
    try:
        async with db.acquire() as conn:
            gateway = await add_gateway(conn, smsc.config(window=20, rate=400))
            for i in range(MESSAGES):
                await queue(conn, gateway, _recipient(i), f"order {i} is ready")

        async def accepted_at_least(n: int) -> bool:
            return len(smsc.accepted()) >= n

        workers.append(_worker(database_url, tmp_path, "first"))
        await _wait(lambda: accepted_at_least(300), 20, "300 submits")
        workers[0].proc.send_signal(signal.SIGKILL)
        workers[0].proc.wait(5)
        workers.append(_worker(database_url, tmp_path, "second"))

        async def all_final() -> bool:
            async with db.acquire() as conn:
                return not await conn.fetchval("SELECT count(*) FROM sms_messages WHERE status <> ALL($1::text[])",
                                               list(model.FINAL))
        await _wait(all_final, 25, "every message final")

        async with db.acquire() as conn:
            rows = await conn.fetch("SELECT id, phone, body, status, error FROM sms_messages ORDER BY id")
            finals = await conn.fetch("SELECT message_id, count(*) AS n FROM sms_status_history "
                                      "WHERE status = ANY($1::text[]) GROUP BY message_id", list(model.FINAL))
    finally:
        for w in workers:
            w.stop()
        smsc.stop()

    assert len(rows) == MESSAGES and len(finals) == MESSAGES and {r["n"] for r in finals} == {1}
    sent = collections.Counter(("+" + s["to"], s["text"]) for s in smsc.accepted())
    assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1][:5]  # nothing twice
    throttled = [s for s in smsc.submits() if s["status"] == 0x58]
    assert throttled  # the SMSC did throttle, and those were sent later

    by_status = collections.Counter(r["status"] for r in rows)
    interrupted = [r for r in rows if r["status"] == "failed" and "interrupted" in r["error"]]
    assert len(interrupted) <= 20  # at most what the killed worker held (its window)
    refused = [r for r in rows if r["phone"].startswith("+7900555") and r not in interrupted]
    assert len(refused) > 80
    assert all(r["status"] == "failed" and "ESME_RINVDSTADR" in r["error"] for r in refused)
    for r in rows:
        went = (r["phone"], r["body"]) in sent
        if r["status"] in ("delivered", "undelivered"):
            assert went and (r["status"] == "undelivered") == r["phone"].startswith("+7999")
        elif r not in interrupted:
            assert not went, r
    assert by_status["failed"] == len(refused) + len(interrupted)
    assert by_status["delivered"] + by_status["undelivered"] + by_status["failed"] == MESSAGES
    assert len(sent) == by_status["delivered"] + by_status["undelivered"] + \
        sum((r["phone"], r["body"]) in sent for r in interrupted)
    assert "reconnecting" not in (tmp_path / "second.log").read_text()


async def test_sigterm_stops_pbxcrm_sms_within_seconds(db, database_url, tmp_path):
    smsc = Smsc(tmp_path / "smsc").start()
    try:
        async with db.acquire() as conn:
            await add_gateway(conn, smsc.config())
        worker = _worker(database_url, tmp_path, "sms")

        async def bound() -> bool:
            return "bound as pbxcrm" in worker.log_path.read_text()
        await _wait(bound, 10, "bound")
        worker.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        rc = worker.proc.wait(8)
        assert time.monotonic() - started < 4 and rc == 0
        assert "stopped" in worker.log_path.read_text()
        worker.stop()
    finally:
        smsc.stop()
