"""A progressive campaign on the sandbox (issue 22, Done-when): 30 numbers behind a sipp trunk, 3 agents'
sipp phones. Each answered number is bridged to an agent (within 2 s of the answer, median), busy and
unanswered numbers are retried per the rules, do-not-call numbers are never dialled, every attempt and
call is logged, and the campaign ends done."""

from __future__ import annotations

import statistics

from tests.call_flow_support import no_recording
from tests.campaign_support import add_dnc, attempts, campaign_status, eventually, make_campaign, numbers
from tests.helpers import make_user
from tests.telephony import TRUNK_PORT, SippPhone

NUMBERS = [f"+749510000{n:02d}" for n in range(30)]
# The trunk's sipp (tests/sipp/campaign_trunk.xml) answers by the number's last digit: 1 busy, 2 no answer.
BUSY = [n for n in NUMBERS if n.endswith("1")]
NO_ANSWER = [n for n in NUMBERS if n.endswith("2")]
DNC = [n for n in NUMBERS if n.endswith("3")]
ANSWERING = [n for n in NUMBERS if n not in BUSY + NO_ANSWER + DNC]
RULES = {"busy": {"attempts": 2, "after_minutes": 0}, "no_answer": {"attempts": 2, "after_minutes": 0}}


async def _all_ended(db, campaign_id: int, expected: int):
    rows = await attempts(db, campaign_id)
    return rows if len(rows) >= expected and all(r["outcome"] for r in rows) else None


async def _call_rows(db, expected: int):
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM calls WHERE channel_id LIKE 'dial-%' ORDER BY id")
    return rows if len(rows) >= expected and all(r["ended_at"] for r in rows) else None


async def test_a_progressive_campaign_of_30_numbers_with_3_agents(db, start_stasis_app, tmp_path):
    await no_recording(db)
    agents = [await make_user(db, login, "operator", full_name=login.title(), extension=ext)
              for login, ext in (("anna", "102"), ("boris", "103"), ("vera", "104"))]
    agent_ids = {a["id"] for a in agents}
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    async with SippPhone("trunk", "campaign_trunk.xml", tmp_path, port=TRUNK_PORT) as outside, \
            SippPhone("102", "phone_answer.xml", tmp_path), SippPhone("103", "phone_answer.xml", tmp_path), \
            SippPhone("104", "phone_answer.xml", tmp_path):
        campaign = await make_campaign(db, author_id=agents[0]["id"], agents=agent_ids, numbers=NUMBERS,
                                       retry_rules=RULES, ring_seconds=10, status="draft")
        await add_dnc(db, DNC[0])
        await add_dnc(db, DNC[1], campaign)
        await add_dnc(db, DNC[2])
        async with db.acquire() as conn:  # started, as the web does it (NOTIFYed)
            await conn.execute("UPDATE dial_campaigns SET status = 'running', started_at = now() WHERE id = $1",
                               campaign)
            await conn.execute("SELECT pg_notify('pbxcrm_dial_campaigns', $1)", str(campaign))
        expected = len(ANSWERING) + 2 * len(BUSY) + 2 * len(NO_ANSWER)
        try:
            rows = await eventually(lambda: _all_ended(db, campaign, expected), timeout=50, what="every attempt")
            assert await eventually(lambda: _is_done(db, campaign), timeout=5, what="the campaign done")
        except AssertionError:
            print(app.log_text()[-6000:])
            raise
        trunk_log = outside.messages.read_text(errors="replace")
    assert len(rows) == expected, [(r["number"], r["outcome"]) for r in rows]
    by_number: dict[str, list] = {}
    for row in rows:
        by_number.setdefault(row["number"], []).append(row)
    for number in ANSWERING:
        [row] = by_number[number]
        assert row["outcome"] == "answered" and row["agent_user_id"] in agent_ids, (number, dict(row))
        assert row["answered_at"] <= row["bridged_at"] <= row["ended_at"]
    for number in BUSY:
        assert [(r["outcome"], r["hangup_cause"]) for r in by_number[number]] == [("busy", 17)] * 2
    for number in NO_ANSWER:
        assert [r["outcome"] for r in by_number[number]] == ["no_answer"] * 2
    for number in DNC:
        assert number not in by_number
        assert f"INVITE sip:{number.lstrip('+')}@" not in trunk_log
    listed = await numbers(db, campaign)
    assert {n for n, r in listed.items() if r["skip_reason"] == "dnc"} == set(DNC)
    assert all(listed[n]["status"] == "done" for n in NUMBERS if n not in DNC)
    # Every attempt's call logged once, ended, the answered ones with their agent.
    calls = await eventually(lambda: _call_rows(db, expected), timeout=5, what="the call rows")
    assert len(calls) == expected and {c["id"] for c in calls} == {r["call_id"] for r in rows}
    answered = [c for c in calls if c["status"] == "answered"]
    assert len(answered) == len(ANSWERING) and {c["operator_user_id"] for c in answered} <= agent_ids
    assert len({r["agent_user_id"] for r in rows if r["agent_user_id"]}) >= 2, "the calls spread over the agents"
    waits = [(r["bridged_at"] - r["answered_at"]).total_seconds() for r in rows if r["outcome"] == "answered"]
    print(f"answer to bridge: median {statistics.median(waits):.2f} s, max {max(waits):.2f} s")
    assert statistics.median(waits) < 2.0, waits
    # Each agent's phone was told to answer by itself: the client was already waiting.
    agent_invites = (tmp_path / "phone-102-messages.log").read_text(errors="replace")
    assert "Call-Info: <sip:pbxcrm.invalid>;answer-after=0" in agent_invites


async def _is_done(db, campaign_id: int) -> bool:
    return await campaign_status(db, campaign_id) == "done"
