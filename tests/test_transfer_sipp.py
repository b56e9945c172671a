"""Transfers through the sandbox Asterisk (issue 15): a sipp desk phone transfers a real call with
SIP REFER - blind, and attended after a consultation call - and the web's Transfer on the screen
pop in Chromium. The caller (sipp, playing audio) talks to the end; the call keeps both operators
with their talk seconds; its one recording covers both parts."""

import asyncio
import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.browser import free_tcp_port, logged_in_page
from tests.helpers import PASSWORD, make_user, routing_crm
from tests.telephony import ASTERISK_SIP, SIPP_DIR, SippPhone, free_udp_port, sipp_call, wait_for

CALLED = "74957654321"
CALLER = "84951234567"  # Ivanova's client (tests/helpers.py routing_crm): her phone, 102, rings first


@pytest.fixture
async def people(db):
    crm = await routing_crm(db)
    crm["lebedev"] = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    return crm


async def _incoming_call(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM calls WHERE direction = 'incoming' AND ended_at IS NOT NULL")


async def _legs(db, call_id: int):
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM call_legs WHERE call_id = $1 ORDER BY position", call_id)
    return rows if len(rows) >= 2 and all(r["ended_at"] for r in rows) else None


async def _recording(db, call_id: int):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM recordings WHERE call_id = $1", call_id)


def _seconds(path: str) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    return float(json.loads(out)["format"]["duration"])


async def _both_operators_and_one_recording(db, people, app, how: str):
    """The call row lists both operators with their talk seconds; one recording covers both talks."""
    call = await wait_for(lambda: _incoming_call(db), timeout=15)
    assert call is not None, app.log_text()
    legs = await wait_for(lambda: _legs(db, call["id"]), timeout=10)
    assert legs is not None, app.log_text()
    assert [(leg["user_id"], leg["how"]) for leg in legs] == [(people["ivanova"]["id"], "answered"),
                                                              (people["lebedev"]["id"], how)], app.log_text()
    first, second = (float(leg["talk_seconds"]) for leg in legs)
    assert first >= 1.5 and second >= 2, (first, second)
    assert call["status"] == "answered" and call["operator_user_id"] == people["ivanova"]["id"]
    recording = await wait_for(lambda: _recording(db, call["id"]), timeout=20)
    assert recording is not None and recording["error"] is None, app.log_text()
    heard = _seconds(recording["path"])
    # One file from the first answer to the hang-up: the transferer's talk, the wait, the new operator's.
    assert heard >= first + second - 0.3, (heard, first, second)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM recordings r JOIN calls c ON c.id = r.call_id "
                                   "WHERE c.direction = 'incoming'") == 1
    return call, legs, heard


async def test_a_blind_transfer_from_a_desk_phone_keeps_the_caller_talking_to_the_second_operator(
        people, db, start_stasis_app, tmp_path):
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    transferer = ("-d", "2500", "-key", "extension", "102", "-key", "target", "104")
    async with SippPhone("102", "phone_blind_transfer.xml", tmp_path, args=transferer) as ivanova, \
            SippPhone("104", "phone_answer.xml", tmp_path) as lebedev:
        result = await sipp_call(caller=CALLER, called=CALLED, talk_ms=9000, scenario="caller_audio.xml")
        # The caller hung up itself after its 9 s: never dropped.
        assert result.returncode == 0, result.output + app.log_text()
        assert len(lebedev.invites()) == 1, app.log_text()
        await wait_for(lambda: "NOTIFY" in ivanova.messages.read_text(), timeout=5)
    text = ivanova.messages.read_text()
    assert "SIP/2.0 202 Accepted" in text and "SIP/2.0 200 OK" in text.split("NOTIFY sip:")[-1], text[-3000:]
    call, legs, heard = await _both_operators_and_one_recording(db, people, app, "blind")
    steps = json.loads(call["route"])
    assert [s["target"] for s in steps] == ["manager Irina Ivanova", "transferred by Irina Ivanova to Oleg Lebedev"]
    assert steps[1]["result"] == "answered"


async def test_an_attended_transfer_from_a_desk_phone_hands_the_caller_to_the_consulted_operator(
        people, db, start_stasis_app, tmp_path):
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    twin = f"127.0.0.1:{free_tcp_port()}"
    consultation = await _start_consultation(twin, tmp_path)
    transferer = ("-3pcc", twin, "-d", "2500", "-key", "extension", "102", "-key", "target", "104")
    try:
        async with SippPhone("102", "phone_attended_transfer.xml", tmp_path, args=transferer) as ivanova, \
                SippPhone("104", "phone_answer.xml", tmp_path) as lebedev:
            result = await sipp_call(caller=CALLER, called=CALLED, talk_ms=10000, scenario="caller_audio.xml")
            assert result.returncode == 0, result.output + app.log_text()
            out, _ = await asyncio.wait_for(consultation.communicate(), 10)
            assert consultation.returncode == 0, out.decode(errors="replace")[-2000:] + app.log_text()
            # Lebedev's phone rang once: for the consultation; the transfer took that very call.
            assert len(lebedev.invites()) == 1, app.log_text()
        text = ivanova.messages.read_text()
        assert "Replaces=" in text and "SIP/2.0 202 Accepted" in text, text[-3000:]
    finally:
        if consultation.returncode is None:
            consultation.kill()
            await consultation.wait()
    call, legs, heard = await _both_operators_and_one_recording(db, people, app, "attended")
    assert json.loads(call["route"])[-1]["target"] == \
        "transferred by Irina Ivanova to Oleg Lebedev after a consultation"
    async with db.acquire() as conn:
        consulted = await conn.fetchrow("SELECT * FROM calls WHERE direction = 'internal'")
    assert consulted is not None and consulted["status"] == "answered" and consulted["ended_at"] is not None
    assert consulted["caller_user_id"] == people["ivanova"]["id"]


async def _start_consultation(twin: str, log_dir: Path) -> asyncio.subprocess.Process:
    """The transferer phone's consultation call (phone_consultation.xml), listening on `twin` for its word."""
    errors = Path(tempfile.mkstemp(prefix="sipp-consult-", suffix=".log", dir=log_dir)[1])
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP_DIR / "phone_consultation.xml"), "-3pcc", twin, "-i", "127.0.0.1",
        "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-m", "1", "-key", "extension", "102",
        "-key", "target", "104", "-nostdin", "-timeout", "40s", "-trace_msg", "-message_file",
        str(log_dir / "consultation-messages.log"), "-trace_err", "-error_file", str(errors), ASTERISK_SIP,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd="/tmp")
    await asyncio.sleep(0.5)  # listening before the phone connects to it
    if proc.returncode is not None:
        out, _ = await proc.communicate()
        pytest.fail(f"the consultation's sipp did not start: {out.decode(errors='replace')[-2000:]}")
    return proc


async def _pops(page) -> list[dict]:
    return [p["event"] for p in await page.evaluate("window.pbxcrmPops || []")]


async def test_a_web_transfer_from_the_pop_moves_the_caller_to_a_queue_member_whose_browser_pops(
        people, db, web_server, chromium, start_stasis_app, tmp_path):
    async with db.acquire() as conn:
        support = await conn.fetchval("INSERT INTO queues (name, ring_seconds) VALUES ('Support', 10) RETURNING id")
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", support,
                           people["lebedev"]["id"])
    app = await start_stasis_app()
    ivanova = await logged_in_page(chromium, web_server.url, "ivanova", PASSWORD)
    lebedev = await logged_in_page(chromium, web_server.url, "lebedev", PASSWORD)
    for page in (ivanova, lebedev):
        await page.wait_for_selector("body[data-pops=ready]")
    async with SippPhone("102", "phone_answer.xml", tmp_path), SippPhone("104", "phone_answer.xml", tmp_path) as desk:
        caller = asyncio.create_task(sipp_call(caller=CALLER, called=CALLED, talk_ms=12000,
                                               scenario="caller_audio.xml"))
        try:
            # Ivanova talks to the caller: her pop has the Transfer control.
            await ivanova.click("#screen-pop button.transfer-open", timeout=10000)
            await ivanova.wait_for_selector(f"#screen-pop select[name=to] option[value='queue:{support}']",
                                            state="attached")
            await ivanova.select_option("#screen-pop select[name=to]", label="Support")
            await ivanova.click("#screen-pop form.transfer button[type=submit]")
            answered = await wait_for(lambda: _answered(lebedev), timeout=15)
            assert answered is not None, app.log_text()
            await ivanova.wait_for_selector("#screen-pop .transfer-news")
            assert await ivanova.inner_text("#screen-pop .transfer-news") == "Transferred to Support"
            assert await ivanova.is_hidden("#screen-pop form.transfer")
            result = await caller
        finally:
            if not caller.done():
                caller.cancel()
        assert result.returncode == 0, result.output + app.log_text()
        assert len(desk.invites()) == 1
    call = await wait_for(lambda: _incoming_call(db), timeout=10)
    assert answered["channel_id"] == call["channel_id"] and answered["name"] == "Sokolov Ivan"
    legs = await wait_for(lambda: _legs(db, call["id"]), timeout=10)
    assert [(leg["user_id"], leg["how"]) for leg in legs] == [(people["ivanova"]["id"], "answered"),
                                                              (people["lebedev"]["id"], "web")]
    step = json.loads(call["route"])[-1]
    assert step["target"] == "transferred by Irina Ivanova to queue Support"
    assert step["result"].startswith("answered by Oleg Lebedev after")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM transfer_requests") == "done"


async def _answered(page) -> dict | None:
    return next((p for p in await _pops(page) if p["event"] == "answered"), None)
