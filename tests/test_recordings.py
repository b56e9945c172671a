"""Recording by policy (H7): a real answered call with audio becomes an mp3 on the call, played in Chromium."""

import json
import os
import subprocess

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.recordings.policy import RecordingPolicy, can_listen, should_record
from tests.browser import WebServerProcess, logged_in_page
from tests.helpers import PASSWORD, make_user
from tests.telephony import SippPhone, ari_get, sipp_call, wait_for


def test_policy_decides_which_calls_are_recorded():
    assert should_record(RecordingPolicy("all"), "internal", [1])
    assert not should_record(RecordingPolicy("all_but_internal"), "internal", [1, 2])
    assert should_record(RecordingPolicy("all_but_internal"), "outgoing", [1])
    assert not should_record(RecordingPolicy("all_but_users", frozenset({7})), "incoming", [None, 7])
    assert should_record(RecordingPolicy("all_but_users", frozenset({7})), "incoming", [None, 8])
    assert not should_record(RecordingPolicy("none"), "incoming", [])


def test_who_may_listen():
    call = {"operator_user_id": 5, "caller_user_id": None, "owner_user_id": 6}
    assert can_listen({"id": 1, "role": "supervisor"}, call)
    assert can_listen({"id": 5, "role": "operator"}, call)
    assert can_listen({"id": 6, "role": "manager"}, call)
    assert not can_listen({"id": 6, "role": "operator"}, call)
    assert not can_listen({"id": 9, "role": "manager"}, call)
    # The manager of the client the call was moved to later is not its owner (issue 12).
    assert not can_listen({"id": 9, "role": "manager"}, {**call, "responsible_user_id": 9})
    assert can_listen({"id": 7, "role": "manager"}, {**call, "caller_user_id": 7})


def _ffprobe_seconds(path: str) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration,format_name", "-of", "json",
                          path], capture_output=True, text=True, check=True).stdout
    fmt = json.loads(out)["format"]
    assert fmt["format_name"] == "mp3"
    return float(fmt["duration"])


async def _recording(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM recordings")


async def test_an_answered_call_is_recorded_as_mp3_and_played_from_the_card(db, database_url, start_stasis_app,
                                                                             chromium, tmp_path):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    await make_user(db, "olga", "operator", full_name="Olga Other", extension="105")
    async with db.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
    rec_dir = tmp_path / "recordings"
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(rec_dir))
    async with SippPhone("102", "phone_answer.xml", tmp_path):
        result = await sipp_call(caller="84951234567", called="74957654321", talk_ms=5000,
                                 scenario="caller_audio.xml")
        assert result.returncode == 0, result.output + app.log_text()
    rec = await wait_for(lambda: _recording(db), timeout=20)
    assert rec is not None, app.log_text()
    assert rec["format"] == "mp3" and rec["error"] is None
    assert rec["path"].startswith(str(rec_dir)) and os.path.getsize(rec["path"]) == rec["size_bytes"] > 0
    assert 4 <= _ffprobe_seconds(rec["path"]) <= 6
    assert 4 <= float(rec["duration_seconds"]) <= 6
    # Asterisk's own copy is gone.
    status, stored = await ari_get("/recordings/stored")
    assert status == 200 and rec["asterisk_name"] not in [s["name"] for s in stored]

    web = WebServerProcess(dict(os.environ, DATABASE_URL=database_url, PBXCRM_RECORDINGS_DIR=str(rec_dir)),
                           tmp_path / "web.log")
    await web.start()
    try:
        for login, expect_player in (("ivanova", True), ("olga", False)):
            page = await logged_in_page(chromium, web.url, login, PASSWORD)
            await page.goto(f"{web.url}/counterparties/{client}")
            players = await page.query_selector_all("audio[data-recording]")
            if expect_player:
                assert len(players) == 1
                duration = await page.evaluate("""() => new Promise((ok, fail) => {
                    const a = document.querySelector('audio[data-recording]');
                    const done = () => ok(a.duration);
                    if (a.readyState >= 1) done(); else { a.onloadedmetadata = done; a.onerror = () => fail(a.error); }
                    a.load(); })""")
                assert 4 <= duration <= 6
                # Seeking works: the server answers byte ranges.
                status = await page.evaluate(f"""async () => (await fetch('/recordings/{rec["id"]}',
                    {{headers: {{Range: 'bytes=100-199'}}}})).status""")
                assert status == 206
            else:
                assert players == []
                status = await page.evaluate(f"async () => (await fetch('/recordings/{rec['id']}')).status")
                assert status == 403
            await page.context.close()
    finally:
        await web.close()


async def test_admin_sets_the_recording_policy(db, settings):
    from starlette.testclient import TestClient

    from crm.recordings import queries as rec_q
    from tests.helpers import login
    from web.app import create_app

    await make_user(db, "adm", "admin")
    boss = await make_user(db, "boss", "manager", full_name="Big Boss")
    with TestClient(create_app(settings), base_url="http://testserver") as web:
        login(web, "adm")
        token = web.cookies["pbxcrm_csrf"]
        r = web.post("/admin/settings/recording", data={"csrf_token": token, "mode": "all_but_users",
                                                        "excluded": [str(boss["id"])]}, follow_redirects=False)
        assert r.status_code == 303
        assert web.post("/admin/settings/recording", data={"csrf_token": token, "mode": "sometimes"}).status_code == 400
        page = web.get("/admin/settings").text
        assert 'value="all_but_users" checked' in page and f'value="{boss["id"]}" checked' in page
    async with db.acquire() as conn:
        policy = await rec_q.load_policy(conn)
    assert policy == RecordingPolicy("all_but_users", frozenset({boss["id"]}))


async def test_settings_page_title_is_plain_text(db, settings):
    from starlette.testclient import TestClient

    from tests.helpers import login
    from web.app import create_app

    await make_user(db, "adm", "admin")
    with TestClient(create_app(settings), base_url="http://testserver") as web:
        login(web, "adm")
        page = web.get("/admin/settings").text
    assert "<title>Settings · pbxcrm</title>" in page
    assert page.count('id="recording-policy"') == 1 and page.count('id="export-roles"') == 1
