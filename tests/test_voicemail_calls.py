"""Voicemail and callback requests for real (issue 15): sipp callers through the sandbox Asterisk.
A queue nobody answers offers a callback and the caller presses 1 (RFC 2833 DTMF); a line closed
out of hours takes a voicemail the caller speaks (RTP) and ends with #; the client's card plays it."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from crm.calls.route import route_text
from crm.lines import queries as lines_q
from crm.lines.model import LineInput
from tests.helpers import PASSWORD, finished_call, login, make_user
from tests.telephony import AriEventWatcher, SippPhone, ari_get, sipp_call, wait_for
from tests.test_recordings import _ffprobe_seconds
from web.app import create_app

CLIENT_CALLING = "84951234567"  # the crm fixture's client, Sokolov Ivan, as the trunk sends it
QUEUE_DID = "74957654321"
CLOSED_DID = "74955550177"


async def _tasks(db, call_id: int):
    async with db.acquire() as conn:
        return await conn.fetch("SELECT * FROM tasks WHERE call_id = $1", call_id)


async def test_a_caller_the_queue_cannot_take_presses_1_and_is_called_back(crm, db, start_stasis_app, tmp_path):
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5, ring_seconds = 2, offer = 'callback' "
                           "WHERE is_default")
    app = await start_stasis_app()
    async with AriEventWatcher() as watcher, SippPhone("103", "phone_noanswer.xml", tmp_path):
        # Answered when queued; the offer starts 5 s later: 1 is pressed 2 s into it. The scenario
        # then waits for the PBX to hang up (it fails if the PBX never does).
        result = await sipp_call(caller=CLIENT_CALLING, called=QUEUE_DID, talk_ms=7000,
                                 scenario="caller_presses_1.xml", timeout=40)
        assert result.returncode == 0, result.output + app.log_text()
    row = await wait_for(lambda: finished_call(db, CLIENT_CALLING))
    assert row is not None, app.log_text()
    assert row["status"] == "callback" and row["answered_at"] is None
    assert route_text(row["route"]).endswith("queue Default: nobody answered in 5 s → callback requested"), \
        route_text(row["route"]) + app.log_text()
    keys = [e["digit"] for e in watcher.of_type("ChannelDtmfReceived")
            if e["channel"]["id"] == row["channel_id"]]
    assert keys == ["1"], "Asterisk heard the caller's key"
    played = [(p["playback"]["media_uri"], p["playback"]["state"]) for p in watcher.of_type("PlaybackFinished")
              if p["playback"]["target_uri"] == f"channel:{row['channel_id']}"]
    # The offer, cut short by the key; then the thank-you played to its end before the hang-up.
    assert played[-1] == ("sound:vm-goodbye", "done"), played
    tasks = await _tasks(db, row["id"])
    assert len(tasks) == 1, app.log_text()
    assert tasks[0]["responsible_user_id"] == crm["ivanova"]["id"] and tasks[0]["counterparty_id"] == crm["client"]
    assert tasks[0]["remark"].startswith(f"{CLIENT_CALLING} asked to be called back at ")


async def _voicemail(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM voicemails WHERE task_id IS NOT NULL")


async def test_a_call_after_hours_leaves_a_voicemail_the_clients_card_plays(crm, db, settings, start_stasis_app,
                                                                           tmp_path):
    await make_user(db, "olga", "operator", full_name="Olga Other", extension="105")
    async with db.acquire() as conn:
        # Business hours on, with no opening hours: closed whenever the test runs.
        await lines_q.save_line(conn, crm["ivanova"]["id"], None, LineInput(
            name="Promo", trunk="trunk", did=CLOSED_DID, hours_enabled=True, after_hours_kind="voicemail"))
    rec_dir = tmp_path / "recordings"
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(rec_dir))
    async with AriEventWatcher() as watcher:
        # The greeting (2.8 s), the instructions (5.7 s) and the beep; then 3 s of speech and #.
        result = await sipp_call(caller=CLIENT_CALLING, called=CLOSED_DID, talk_ms=9500,
                                 scenario="caller_voicemail.xml", timeout=40)
        assert result.returncode == 0, result.output + app.log_text()
    row = await wait_for(lambda: finished_call(db, CLIENT_CALLING))
    assert row is not None, app.log_text()
    voicemail = await wait_for(lambda: _voicemail(db), timeout=20)
    assert voicemail is not None, app.log_text()
    channel = row["channel_id"]
    played = [(p["playback"]["media_uri"], p["playback"]["state"]) for p in watcher.of_type("PlaybackFinished")
              if p["playback"]["target_uri"] == f"channel:{channel}"]
    assert ("sound:vm-nobodyavail", "done") in played and ("sound:vm-intro", "done") in played, played
    assert played[-1] == ("sound:vm-goodbye", "done"), "the message saved, goodbye; then the app hangs up"
    recorded = [e["recording"] for e in watcher.of_type("RecordingFinished")
                if e["recording"]["target_uri"] == f"channel:{channel}"]
    assert len(recorded) == 1 and recorded[0]["state"] == "done", recorded

    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM calls WHERE id = $1", row["id"])
    assert row["status"] == "voicemail" and row["line_id"] is not None
    steps = json.loads(row["route"])
    assert [s["code"] for s in steps] == ["line_closed", "voicemail_left"], steps
    assert 2.5 <= float(voicemail["seconds"]) <= 4.5, voicemail["seconds"]
    assert voicemail["counterparty_id"] == crm["client"] and voicemail["path"].startswith(str(rec_dir))
    assert 2.5 <= _ffprobe_seconds(voicemail["path"]) <= 4.5  # an mp3 file (it says so)
    tasks = await _tasks(db, row["id"])
    assert [t["id"] for t in tasks] == [voicemail["task_id"]]
    assert tasks[0]["responsible_user_id"] == crm["ivanova"]["id"]
    status, stored = await ari_get("/recordings/stored")
    assert status == 200 and not [s for s in stored if s["name"].endswith(channel)], "Asterisk's copy is gone"

    with TestClient(create_app(settings), base_url="http://testserver") as web:
        login(web, "ivanova", PASSWORD)
        card = web.get(f"/counterparties/{crm['client']}").text
        assert f'data-voicemail="{voicemail["id"]}"' in card and f'src="/voicemails/{voicemail["id"]}"' in card
        audio = web.get(f"/voicemails/{voicemail['id']}")
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
        assert audio.content == Path(voicemail["path"]).read_bytes()
        assert f'data-voicemail="{voicemail["id"]}"' in web.get(f"/tasks/{tasks[0]['id']}").text
        web.cookies.clear()
        login(web, "olga", PASSWORD)  # neither the client's manager nor the task's
        assert f'data-voicemail="{voicemail["id"]}"' not in web.get(f"/counterparties/{crm['client']}").text
        assert web.get(f"/voicemails/{voicemail['id']}").status_code == 403
