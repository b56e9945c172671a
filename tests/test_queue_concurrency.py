"""Twenty callers at once into a queue of three phones, for real (issue 12): no phone ever
has two calls at once, every caller is answered or told nobody answered, every call one row.

The twenty calls come from ONE sipp process (-m 20 -l 20 -r 1000), so their INVITEs leave
within milliseconds and the twenty StasisStarts overlap: twenty sipp processes, one per
caller, start too far apart to race (that version passed without the fix, 422aa33)."""

import datetime as dt
import re
from pathlib import Path

import pytest

from tests import helpers
from tests.telephony import SippPhone, sipp_calls_at_once, wait_for

CALLED = "74957654321"
CALLERS = [f"8903555{i:04d}" for i in range(20)]


def _blocks(message_file: Path) -> list[tuple[float, str]]:
    """(time, text) of each message in a sipp message log."""
    if not message_file.exists():
        return []
    parts = re.split(r"^-+ (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+)\s*$", message_file.read_text(errors="replace"),
                     flags=re.M)
    return [(dt.datetime.strptime(" ".join(stamp.split()), "%Y-%m-%d %H:%M:%S.%f").timestamp(), body)
            for stamp, body in zip(parts[1::2], parts[2::2])]


_DIALOG_ENDS = re.compile(r"^(BYE|CANCEL) sip:", flags=re.M)


def dialogs(message_file: Path) -> dict[str, tuple[float, float]]:
    """Call-ID -> (first message, end) of every call a sipp phone's message log shows: the end is
    the first BYE or CANCEL either way, which is when Asterisk lets the phone go (retransmits of
    it under load come later and are no second call), else the last message.
    Only dialogs that an INVITE opened: Asterisk's OPTIONS qualify pings are no calls."""
    spans: dict[str, tuple[float, float]] = {}
    ended: set[str] = set()
    calls = set(callers_of(message_file))
    for at, body in _blocks(message_file):
        m = re.search(r"^Call-ID:\s*(\S+)", body, flags=re.M | re.I)
        if not m or m.group(1) not in calls or m.group(1) in ended:
            continue
        first, _ = spans.get(m.group(1), (at, at))
        spans[m.group(1)] = (first, at)
        if _DIALOG_ENDS.search(body):
            ended.add(m.group(1))
    return spans


def sent_invite_times(message_file: Path) -> list[float]:
    """When each call's first INVITE in a sipp client's message log was sent (epoch seconds)."""
    first: dict[str, float] = {}
    for at, body in _blocks(message_file):
        call_id = re.search(r"^Call-ID:\s*(\S+)", body, flags=re.M | re.I)
        if call_id and " sent " in body.lstrip().split("\n", 1)[0] and re.search(r"^INVITE sip:", body, flags=re.M):
            first.setdefault(call_id.group(1), at)
    return sorted(first.values())


def callers_of(message_file: Path) -> dict[str, str]:
    """Call-ID -> the caller's number (the From user) of each INVITE a sipp phone received."""
    found: dict[str, str] = {}
    for _, body in _blocks(message_file):
        call_id = re.search(r"^Call-ID:\s*(\S+)", body, flags=re.M | re.I)
        caller = re.search(r"^From:[^\n]*?sip:([^@>;]+)", body, flags=re.M | re.I)
        if call_id and caller and re.search(r"^INVITE sip:", body, flags=re.M):
            found.setdefault(call_id.group(1), caller.group(1))
    return found


def overlaps(spans: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    ordered = sorted(spans.items(), key=lambda item: item[1][0])
    return [(a, b) for (a, (_, a_end)), (b, (b_start, _)) in zip(ordered, ordered[1:]) if b_start < a_end]


@pytest.fixture
async def queue_of_three(db):
    """The routing CRM with Sidorova (104) and Orlov (105) joining Petrov in a ring-all default queue."""
    crm = await helpers.queue_of_three(db)
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET strategy = 'ringall', ring_seconds = 5, max_wait_seconds = 45 "
                           "WHERE is_default")
    return crm


async def test_twenty_callers_at_once_never_give_one_phone_two_calls(queue_of_three, db, start_stasis_app, tmp_path):
    crm = queue_of_three
    app = await start_stasis_app()
    async with SippPhone("103", "phone_answer_hangup.xml", tmp_path) as p103, \
            SippPhone("104", "phone_answer_hangup.xml", tmp_path) as p104, \
            SippPhone("105", "phone_answer_hangup.xml", tmp_path) as p105:
        result = await sipp_calls_at_once(callers=CALLERS, called=CALLED, scenario="callers_at_once.xml",
                                          work_dir=tmp_path / "callers", timeout=60)
        phones = {p.extension: dialogs(p.messages) for p in (p103, p104, p105)}
    sent = sent_invite_times(tmp_path / "callers" / "callers-messages.log")
    # The premise: the callers really came at once (else the race below is not tried at all).
    assert len(sent) == len(CALLERS) and max(sent) - min(sent) < 0.5, (len(sent), sent and max(sent) - min(sent))
    for extension, spans in phones.items():
        assert spans, f"phone {extension} was never rung\n" + app.log_text()[-3000:]
        rung_for = callers_of(tmp_path / f"phone-{extension}-messages.log")
        both = [(rung_for.get(a, a), rung_for.get(b, b)) for a, b in overlaps(spans)]
        assert not both, f"phone {extension} was rung by two calls at once (callers): {both}"
    assert result.returncode == 0, result.output

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
