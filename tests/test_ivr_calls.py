"""IVR menus and greetings for real (issue 15): sipp dials a DID through the sandbox Asterisk; the
line routes to menu Main (Asterisk's "Hello.", a 3 s wait for a key): 2 rings queue Support's member
(a sipp phone, extension 104), a wrong key plays the menu again, no key takes the timeout route
(Pavel Petrov, 103). sipp presses keys as RFC 4733 telephone-events. An uploaded greeting (an mp3
made by ffmpeg, converted by the web app into the sandbox's sounds) is played by Asterisk itself.
An ARI watcher of the test's own sees what Asterisk did (DTMF received, playbacks started, finished)."""

from __future__ import annotations

import dataclasses
import subprocess

from starlette.testclient import TestClient

from crm.calls.route import route_text
from crm.ivr import queries as ivr_q
from crm.ivr.model import MenuInput
from crm.lines import queries as lines_q
from crm.lines.model import LineInput
from crm.queues import queries as queues_q
from crm.queues.model import QueueInput
from tests.helpers import finished_call, login, make_user
from tests.telephony import (
    ASTERISK_GREETINGS,
    SANDBOX_ROOT,
    AriEventWatcher,
    SippPhone,
    keys_scenario,
    sipp_call,
    wait_for,
)

DID = "74955550222"
STRANGER = "84997654321"


async def _ivr(db, crm) -> tuple[int, dict]:
    """Queue Support (Oleg Lebedev, 104), menu Main on line DID; (Support's id, Lebedev)."""
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    admin = crm["ivanova"]["id"]
    async with db.acquire() as conn:
        support = await queues_q.save_queue(conn, admin, None, QueueInput(
            "Support", ring_seconds=10, max_wait_seconds=30, member_ids=(lebedev["id"],)))
        menu = await ivr_q.save_menu(conn, admin, None, MenuInput(
            name="Main", prompt="sound:hello", timeout_seconds=3, replays=2,
            timeout_route=f"user:{crm['petrov']['id']}", keys={"2": f"queue:{support}"}))
        await lines_q.save_line(conn, admin, None, LineInput(name="Hotline", trunk="trunk", did=DID, route_kind="ivr",
                                                             route_menu_id=menu))
    return support, lebedev


def _caller_channel(watcher: AriEventWatcher) -> str:
    """The caller's channel: the one from the trunk with the caller's number."""
    for e in watcher.events:
        channel = e.get("channel") or {}
        if channel.get("name", "").startswith("PJSIP/trunk-") and channel["caller"]["number"] == STRANGER:
            return channel["id"]
    raise AssertionError(f"no caller channel seen in {sorted({e['type'] for e in watcher.events})}")


def _playbacks(watcher: AriEventWatcher, kind: str, channel: str) -> list[dict]:
    return [e["playback"] for e in watcher.of_type(kind) if e["playback"]["target_uri"] == f"channel:{channel}"]


async def test_digit_2_reaches_queue_support_through_the_menu(crm, db, start_stasis_app, tmp_path):
    support, lebedev = await _ivr(db, crm)
    app = await start_stasis_app()
    async with AriEventWatcher() as watcher, SippPhone("104", "phone_answer.xml", tmp_path) as lebedev_phone, \
            SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone:
        result = await sipp_call(caller=STRANGER, called=DID, talk_ms=3000,
                                 scenario=str(keys_scenario([(2000, "2")], tmp_path)))
        assert result.returncode == 0, result.output + app.log_text()
        row = await wait_for(lambda: finished_call(db, STRANGER))
        assert row is not None, app.log_text()
        caller = _caller_channel(watcher)
        dtmf = [e["digit"] for e in watcher.of_type("ChannelDtmfReceived") if e["channel"]["id"] == caller]
        started = _playbacks(watcher, "PlaybackStarted", caller)
        assert len(lebedev_phone.invites()) == 1 and petrov_phone.invites() == [], (
            route_text(row["route"]), dtmf, app.log_text()[-3000:])
    assert dtmf[:1] == ["2"], "Asterisk received the caller's key"
    assert [p["media_uri"] for p in started] == ["sound:hello"]
    assert (row["status"], row["queue_id"], row["operator_user_id"]) == ("answered", support, lebedev["id"])
    assert route_text(row["route"]).startswith("menu Main: pressed 2 → queue Support: answered by Oleg Lebedev after")


async def test_an_invalid_digit_replays_the_menu(crm, db, start_stasis_app, tmp_path):
    support, _lebedev = await _ivr(db, crm)
    app = await start_stasis_app()
    async with AriEventWatcher() as watcher, SippPhone("104", "phone_answer.xml", tmp_path) as lebedev_phone:
        result = await sipp_call(caller=STRANGER, called=DID, talk_ms=3000,
                                 scenario=str(keys_scenario([(2000, "7"), (5000, "2")], tmp_path)))
        assert result.returncode == 0, result.output + app.log_text()
        row = await wait_for(lambda: finished_call(db, STRANGER))
        assert row is not None, app.log_text()
        caller = _caller_channel(watcher)
        started = _playbacks(watcher, "PlaybackStarted", caller)
        assert len(lebedev_phone.invites()) == 1, (route_text(row["route"]), app.log_text()[-3000:])
    # The menu plays twice: the second time after saying the key was wrong, in one playback.
    assert [p["media_uri"] for p in started] == ["sound:hello", "sound:pm-invalid-option", "sound:hello"]
    assert started[0]["id"] != started[1]["id"] == started[2]["id"]
    assert row["queue_id"] == support
    assert route_text(row["route"]).startswith(
        "menu Main: invalid digit 7 → menu Main: pressed 2 → queue Support: answered by Oleg Lebedev")


async def test_no_digit_reaches_the_timeout_route(crm, db, start_stasis_app, tmp_path):
    await _ivr(db, crm)
    app = await start_stasis_app()
    async with AriEventWatcher() as watcher, SippPhone("103", "phone_answer.xml", tmp_path) as petrov_phone, \
            SippPhone("104", "phone_answer.xml", tmp_path) as lebedev_phone:
        result = await sipp_call(caller=STRANGER, called=DID, talk_ms=7000)
        assert result.returncode == 0, result.output + app.log_text()
        row = await wait_for(lambda: finished_call(db, STRANGER))
        assert row is not None, app.log_text()
        caller = _caller_channel(watcher)
        finished = _playbacks(watcher, "PlaybackFinished", caller)
        assert len(petrov_phone.invites()) == 1 and lebedev_phone.invites() == []
    assert [(p["media_uri"], p["state"]) for p in finished] == [("sound:hello", "done")]
    assert (row["status"], row["operator_user_id"]) == ("answered", crm["petrov"]["id"])
    assert route_text(row["route"]) == "menu Main: no digit in 3 s → user Pavel Petrov answered"


async def test_an_uploaded_greeting_is_heard_through_asterisk(crm, db, settings, start_stasis_app, tmp_path):
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    await make_user(db, "adm", "admin")
    mp3 = tmp_path / "welcome.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1.5",
                    "-ac", "2", "-ar", "44100", str(mp3)], check=True)
    from web.app import create_app

    greetings_dir = SANDBOX_ROOT / ASTERISK_GREETINGS.lstrip("/")
    web_app = create_app(dataclasses.replace(settings, greetings_dir=greetings_dir))
    with TestClient(web_app, base_url="http://testserver") as web:
        login(web, "adm")
        with mp3.open("rb") as f:
            r = web.post("/admin/greetings", data={"csrf_token": web.cookies["pbxcrm_csrf"], "name": "Welcome"},
                         files={"file": ("welcome.mp3", f, "audio/mpeg")}, follow_redirects=False)
        assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        greeting = await conn.fetchrow("SELECT id, file FROM greetings")
        await lines_q.save_line(conn, crm["ivanova"]["id"], None, LineInput(
            name="Hotline", trunk="trunk", did=DID, route_kind="user", route_user_id=lebedev["id"],
            greeting_id=greeting["id"]))
    stored = greetings_dir / f"{greeting['file']}.wav"
    try:
        assert stored.is_file()
        app = await start_stasis_app(PBXCRM_GREETINGS_ASTERISK_DIR=ASTERISK_GREETINGS)
        async with AriEventWatcher() as watcher, SippPhone("104", "phone_answer.xml", tmp_path) as lebedev_phone:
            result = await sipp_call(caller=STRANGER, called=DID, talk_ms=4000)
            assert result.returncode == 0, result.output + app.log_text()
            row = await wait_for(lambda: finished_call(db, STRANGER))
            assert row is not None, app.log_text()
            caller = _caller_channel(watcher)
            started = _playbacks(watcher, "PlaybackStarted", caller)
            finished = _playbacks(watcher, "PlaybackFinished", caller)
            assert len(lebedev_phone.invites()) == 1
    finally:
        stored.unlink(missing_ok=True)
    media = f"sound:{ASTERISK_GREETINGS}/{greeting['file']}"
    assert [p["media_uri"] for p in started] == [media]
    assert [(p["id"], p["state"]) for p in finished] == [(started[0]["id"], "done")], "played, not failed"
    assert route_text(row["route"]) == "greeting Welcome was played → user Oleg Lebedev answered"
