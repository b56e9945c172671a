"""Greetings and IVR menus in the admin's pages (issue 15): uploads checked by ffprobe and converted
by ffmpeg, refusals that save nothing, menus with loops refused, deleting what is in use refused,
a line routed to a menu, rights, Russian."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
import subprocess
import wave
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from crm.lines import queries as lines_q
from crm.users.accounts import set_own_locale
from tests.helpers import login, make_user


def mp3(path: Path, seconds: float = 2.0) -> Path:
    """A real mp3 (a 440 Hz tone, 44.1 kHz stereo), as a greeting recorded elsewhere would be."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}:sample_rate=44100", "-ac", "2", "-b:a", "64k", str(path)],
                   check=True)
    return path


@pytest.fixture
def greetings_dir(tmp_path) -> Path:
    return tmp_path / "greetings"


@pytest.fixture
def admin_web(db, settings, greetings_dir):
    from web.app import create_app

    app = create_app(dataclasses.replace(settings, greetings_dir=greetings_dir))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


async def _admin(db, web) -> str:
    await make_user(db, "adm", "admin", full_name="Anna Admin")
    login(web, "adm")
    return web.cookies["pbxcrm_csrf"]


def _upload(web, token: str, path: Path, name: str = "", filename: str | None = None):
    with path.open("rb") as f:
        return web.post("/admin/greetings", data={"csrf_token": token, "name": name},
                        files={"file": (filename or path.name, f, "application/octet-stream")}, follow_redirects=False)


def _error(html: str, field: str) -> str:
    m = re.search(rf'id="error-{field}">([^<]*)<', html)
    return html_lib.unescape(m.group(1)) if m else ""


async def _count(db, table: str) -> int:
    async with db.acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")


async def test_an_uploaded_mp3_is_converted_to_what_asterisk_plays_and_plays_in_the_browser(
        db, admin_web, greetings_dir, tmp_path):
    token = await _admin(db, admin_web)
    r = _upload(admin_web, token, mp3(tmp_path / "Welcome to Acme.mp3", 2.0))
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        g = await conn.fetchrow("SELECT * FROM greetings")
        audit = await conn.fetchval("SELECT action FROM audit_log WHERE entity = 'greeting'")
    assert (g["name"], g["original_name"], audit) == ("Welcome to Acme", "Welcome to Acme.mp3", "create")
    assert 1.9 < float(g["seconds"]) < 2.2
    stored = greetings_dir / f"{g['file']}.wav"
    with wave.open(str(stored)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert 1.9 < w.getnframes() / 8000 < 2.2
    assert [p.name for p in greetings_dir.iterdir()] == [stored.name], "the converted file only"

    page = admin_web.get("/admin/greetings").text
    row = page.split(f'data-greeting="{g["id"]}"')[1].split("</tr>")[0]
    assert "Welcome to Acme" in row and "0:02" in row and f'src="/admin/greetings/{g["id"]}/audio"' in row
    audio = admin_web.get(f"/admin/greetings/{g['id']}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == stored.read_bytes()
    assert 'href="/admin/greetings"' in page and 'href="/admin/ivr"' in page, "the admin's nav links them"


async def test_what_is_not_an_mp3_or_wav_greeting_is_refused_and_nothing_is_saved(
        db, admin_web, greetings_dir, tmp_path):
    token = await _admin(db, admin_web)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a sound\n" * 50)
    r = _upload(admin_web, token, text)
    assert r.status_code == 400 and _error(r.text, "file") == (
        "notes.txt is not an mp3 or wav file: only those can be greetings")
    r = _upload(admin_web, token, text, filename="song.mp3")
    assert r.status_code == 400 and _error(r.text, "file") == "song.mp3 is not an audio file"
    wav = tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(wav)], check=True)
    r = _upload(admin_web, token, wav, filename="tone.mp3")
    assert r.status_code == 400 and _error(r.text, "file") == "tone.mp3 is not really an mp3 file (it holds wav)"
    long = mp3(tmp_path / "long.mp3", 301)
    r = _upload(admin_web, token, long)
    assert r.status_code == 400 and _error(r.text, "file") == (
        "long.mp3 is too long (301 s): a greeting is at most 300 seconds")
    r = admin_web.post("/admin/greetings", data={"csrf_token": token}, files={"file": ("big.wav", b"\0" * (17 << 20))},
                       follow_redirects=False)
    assert r.status_code == 413 and "too big" in r.text
    r = _upload(admin_web, token, mp3(tmp_path / "a.mp3", 1), name="x" * 61)
    assert r.status_code == 400 and _error(r.text, "name") == "is longer than 60 characters"
    assert await _count(db, "greetings") == 0
    assert not greetings_dir.exists() or list(greetings_dir.iterdir()) == []


async def test_menus_with_keys_loops_refused_and_in_use_greetings_and_menus_not_deleted(
        db, admin_web, greetings_dir, tmp_path):
    token = await _admin(db, admin_web)
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov", extension="103")
    async with db.acquire() as conn:
        support = await conn.fetchval("INSERT INTO queues (name) VALUES ('Support') RETURNING id")
    assert _upload(admin_web, token, mp3(tmp_path / "main.mp3", 1), name="Main menu").status_code == 303
    async with db.acquire() as conn:
        greeting = await conn.fetchval("SELECT id FROM greetings")
    assert admin_web.get("/admin/ivr/new").status_code == 200

    def menu(name: str, **fields):
        return {"csrf_token": token, "name": name, "prompt": f"greeting:{greeting}", "timeout_seconds": "4",
                "replays": "1", "timeout_route": "crm", **fields}

    r = admin_web.post("/admin/ivr", data=menu("Sales", key_1=f"user:{petrov['id']}", key_hash="hangup"),
                       follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        sales = await conn.fetchval("SELECT id FROM ivr_menus WHERE name = 'Sales'")
    r = admin_web.post("/admin/ivr", data=menu("Main", key_2=f"queue:{support}", key_9=f"ivr:{sales}",
                                               skip_known="on"), follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        main = await conn.fetchval("SELECT id FROM ivr_menus WHERE name = 'Main'")
        keys = await conn.fetch("SELECT digit, kind FROM ivr_options WHERE menu_id = $1 ORDER BY digit", main)
    assert [(k["digit"], k["kind"]) for k in keys] == [("2", "queue"), ("9", "ivr")]

    page = admin_web.get("/admin/ivr").text
    row = page.split(f'data-menu="{main}"')[1].split("</tr>")[0]
    assert "2 → queue Support" in row and "9 → menu Sales" in row and "Main menu" in row
    assert "after 4 seconds: CRM routing" in row
    form = admin_web.get(f"/admin/ivr/{main}").text
    assert f'<option value="queue:{support}" selected>' in form and "checked" in form

    # Sales' timeout leading back to Main would loop: refused, on the field that closes it.
    r = admin_web.post(f"/admin/ivr/{sales}", data=menu("Sales", key_1=f"user:{petrov['id']}",
                                                        timeout_route=f"ivr:{main}"), follow_redirects=False)
    assert r.status_code == 400
    assert _error(r.text, "timeout_route") == ("this would make a loop, Sales → Main → Sales: "
                                               "a menu cannot lead back to itself")
    r = admin_web.post(f"/admin/ivr/{sales}", data=menu("Sales", key_5=f"ivr:{sales}"), follow_redirects=False)
    assert _error(r.text, "key_5") == "this would make a loop, Sales → Sales: a menu cannot lead back to itself"
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT timeout_kind FROM ivr_menus WHERE id = $1", sales) == "crm"

    # A line routes to Main and plays the greeting first.
    r = admin_web.post("/admin/lines", data={
        "csrf_token": token, "name": "Promo", "did": "74957770000", "trunk": "trunk", "route_kind": "ivr",
        "route_menu_id": str(main), "greeting": f"greeting:{greeting}", "skip_menu_for_known": "on",
        "after_hours_kind": "hangup"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    async with db.acquire() as conn:
        (line,) = await lines_q.load_lines(conn)
    assert (line.route.kind, line.route.menu.name, line.greeting.name, line.skip_menu_for_known) == (
        "ivr", "Main", "Main menu", True)
    assert "menu Main" in admin_web.get("/admin/lines").text

    # In use: neither the greeting nor the menus can go.
    r = admin_web.post(f"/admin/greetings/{greeting}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 409
    assert ("greeting Main menu is played by line Promo, menu Main, menu Sales: choose another prompt there first"
            in r.text)
    r = admin_web.post(f"/admin/ivr/{sales}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 409 and "menu Sales is used by menu Main: route them elsewhere first" in r.text
    r = admin_web.post(f"/admin/ivr/{main}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 409 and "menu Main is used by line Promo: route them elsewhere first" in r.text
    assert await _count(db, "greetings") == 1 and len(list(greetings_dir.iterdir())) == 1

    # Once nothing plays it, it goes, with its file.
    r = admin_web.post(f"/admin/lines/{line.id}/delete", data={"csrf_token": token}, follow_redirects=False)
    for menu_id in (main, sales):
        assert admin_web.post(f"/admin/ivr/{menu_id}/delete", data={"csrf_token": token},
                              follow_redirects=False).status_code == 303
    r = admin_web.post(f"/admin/greetings/{greeting}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert await _count(db, "greetings") == 0 and list(greetings_dir.iterdir()) == []


async def test_a_menus_form_says_every_problem_and_a_deleted_target_is_refused(db, admin_web):
    token = await _admin(db, admin_web)
    async with db.acquire() as conn:
        gone = await conn.fetchval("INSERT INTO queues (name, deleted_at) VALUES ('Old', now()) RETURNING id")
    r = admin_web.post("/admin/ivr", data={"csrf_token": token, "name": "", "prompt": "", "timeout_seconds": "0",
                                           "replays": "7", "timeout_route": "crm", "key_3": f"queue:{gone}"})
    assert r.status_code == 400
    assert _error(r.text, "name") == "a menu's name is 1 to 60 characters"
    assert _error(r.text, "prompt") == "choose what the menu says: a greeting or a built-in prompt"
    assert _error(r.text, "timeout_seconds") == "the wait for a key is 1 to 60 seconds"
    assert _error(r.text, "replays") == "the menu plays again 0 to 5 times"
    r = admin_web.post("/admin/ivr", data={"csrf_token": token, "name": "Main", "prompt": "sound:hello",
                                           "timeout_route": "crm", "key_3": f"queue:{gone}"})
    assert r.status_code == 400 and _error(r.text, "key_3") == "queue Old is deleted: choose another"
    r = admin_web.post("/admin/ivr", data={"csrf_token": token, "name": "Main", "prompt": "sound:hello"})
    assert r.status_code == 400 and _error(r.text, "keys") == "give at least one key a route"
    assert await _count(db, "ivr_menus") == 0


async def test_only_admins_see_greetings_and_menus_and_refusals_read_in_russian(db, admin_web, tmp_path):
    await make_user(db, "olga", "supervisor")
    login(admin_web, "olga")
    for path in ("/admin/greetings", "/admin/ivr", "/admin/ivr/new", "/admin/greetings/1/audio"):
        assert admin_web.get(path).status_code == 403, path
    admin_web.cookies.clear()
    token = await _admin(db, admin_web)
    async with db.acquire() as conn:
        admin_id = await conn.fetchval("SELECT id FROM users WHERE login = 'adm'")
        await set_own_locale(conn, admin_id, "ru", None)
    text = tmp_path / "notes.txt"
    text.write_text("not a sound")
    r = _upload(admin_web, token, text, filename="song.wav")
    assert r.status_code == 400 and _error(r.text, "file") == "song.wav — не звуковой файл"
    page = admin_web.get("/admin/ivr/new").text
    assert "Клавиша 1" in page and "Key 1" not in page
