"""Twenty callers at once into a queue of three phones, for real (issue 12): no phone ever
has two calls at once, every caller is answered or told nobody answered, every call one row."""

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest

from tests.helpers import make_user, routing_crm
from tests.telephony import SippPhone, sipp_call, wait_for

CALLED = "74957654321"
CALLERS = [f"8903555{i:04d}" for i in range(20)]


def dialogs(message_file: Path) -> dict[str, tuple[float, float]]:
    """Call-ID -> (first, last message time) of every dialog a sipp phone's message log shows."""
    spans: dict[str, tuple[float, float]] = {}
    if not message_file.exists():
        return spans
    blocks = re.split(r"^-+ (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+)\s*$", message_file.read_text(errors="replace"),
                      flags=re.M)
    for stamp, body in zip(blocks[1::2], blocks[2::2]):
        at = dt.datetime.strptime(" ".join(stamp.split()), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        m = re.search(r"^Call-ID:\s*(\S+)", body, flags=re.M | re.I)
        if not m:
            continue
        first, _ = spans.get(m.group(1), (at, at))
        spans[m.group(1)] = (first, at)
    return spans


def overlaps(spans: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    ordered = sorted(spans.items(), key=lambda item: item[1][0])
    return [(a, b) for (a, (_, a_end)), (b, (b_start, _)) in zip(ordered, ordered[1:]) if b_start < a_end]


@pytest.fixture
async def crm(db):
    crm = await routing_crm(db)
    for login, name, extension in (("sidorova", "Sveta Sidorova", "104"), ("orlov", "Oleg Orlov", "105")):
        user = await make_user(db, login, "operator", full_name=name, extension=extension)
        async with db.acquire() as conn:
            await conn.execute("INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, 1)",
                               crm["queue"], user["id"])
        crm[login] = user
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET strategy = 'ringall', ring_seconds = 5, max_wait_seconds = 45 "
                           "WHERE is_default")
    return crm


async def test_twenty_callers_at_once_never_give_one_phone_two_calls(crm, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    async with SippPhone("103", "phone_answer_hangup.xml", tmp_path) as p103, \
            SippPhone("104", "phone_answer_hangup.xml", tmp_path) as p104, \
            SippPhone("105", "phone_answer_hangup.xml", tmp_path) as p105:
        results = await asyncio.gather(*(
            sipp_call(caller=number, called=CALLED, talk_ms=60000, scenario="caller_hungup.xml", timeout=75)
            for number in CALLERS))
        failed = [(n, r.output) for n, r in zip(CALLERS, results) if r.returncode != 0]
        assert not failed, failed[:2]
        phones = {p.extension: dialogs(p.messages) for p in (p103, p104, p105)}
    for extension, spans in phones.items():
        assert spans, f"phone {extension} was never rung\n" + app.log_text()[-3000:]
        assert not overlaps(spans), f"phone {extension} had two calls at once: {overlaps(spans)}"

    async def all_ended():
        async with db.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL") >= len(CALLERS)
    assert await wait_for(all_ended, timeout=15), app.log_text()[-3000:]
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT caller_number, status, operator_user_id, route FROM calls")
    assert sorted(r["caller_number"] for r in rows) == sorted(CALLERS)  # one row per call, no more
    operators = {crm["petrov"]["id"], crm["sidorova"]["id"], crm["orlov"]["id"]}
    for row in rows:
        if row["status"] == "answered":
            assert row["operator_user_id"] in operators
        else:
            assert row["status"] == "missed" and "nobody answered in 45 s" in row["route"], dict(row)
    answered = sum(r["status"] == "answered" for r in rows)
    # Ring all: each answered call was a dialog on one phone (a phone that lost the race has one more).
    assert answered <= sum(len(s) for s in phones.values()), (answered, {k: len(v) for k, v in phones.items()})
    assert answered >= 15, f"only {answered} of 20 callers were answered\n" + app.log_text()[-3000:]
