"""Prompts in the line's language for real (issue 14): sipp callers through the sandbox Asterisk,
which has Debian's Russian prompts (scripts/sandbox.sh installs them)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.helpers import finished_call
from tests.telephony import AriEventWatcher, ari_get, astdb_get, astdb_put, require_sandbox, sipp_call, wait_for

# A queue nobody answers offers a callback (issue 15): "nobody is available", "press 1 ...".
OFFER = ("sound:vm-nobodyavail", "sound:vm-tocallnum")


@pytest.fixture
async def queue_gives_up(db):
    """The default queue has nobody in it, and offers a callback after its shortest longest wait."""
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5, offer = 'callback' WHERE is_default")


async def _centre_language(db, language: str | None) -> None:
    async with db.acquire() as conn:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('locale.language', $1::jsonb)
                              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""", json.dumps(language))


async def _caller_hears_the_offer(db, app, caller: str, called: str, watcher: AriEventWatcher) -> list[dict]:
    """Call, wait in the queue until its longest wait passes (5 s), hear the offer (about 5.5 s)
    and hang up while it waits for the key: the offer's playback events, in order."""
    result = await sipp_call(caller=caller, called=called, talk_ms=13000, scenario="caller.xml")
    assert result.returncode == 0, result.output + app.log_text()
    row = await wait_for(lambda: finished_call(db, caller))
    assert row is not None and row["status"] == "missed", app.log_text()
    played = [e["playback"] for e in watcher.events if e.get("type", "").startswith("Playback")]
    assert {p["target_uri"] for p in played} == {f"channel:{row['channel_id']}"}, played
    return played


def _heard(played: list[dict], language: str) -> None:
    """The offer played through in `language`: both files found ("done", not "failed")."""
    assert [(p["media_uri"], p["language"]) for p in played if p["state"] == "playing"] == [
        (OFFER[0], language), (OFFER[1], language)]
    finished = [p for p in played if p["state"] in ("done", "failed")]
    assert [(p["media_uri"], p["state"]) for p in finished] == [(OFFER[1], "done")], played


async def test_the_offers_prompts_are_in_the_sandbox_in_russian_and_english():
    for name in ("vm-nobodyavail", "vm-tocallnum", "vm-intro", "vm-msgsaved", "vm-tooshort", "auth-thankyou",
                 "vm-goodbye", "beep"):
        status, sound = await ari_get(f"/sounds/{name}")
        assert status == 200, sound
        assert {"language": "ru", "format": "gsm"} in sound["formats"], sound
        assert {"language": "en", "format": "gsm"} in sound["formats"], sound


async def test_a_caller_the_queue_cannot_take_hears_the_offer_in_the_call_centres_russian(
        db, queue_gives_up, start_stasis_app):
    await _centre_language(db, "ru")
    app = await start_stasis_app()
    async with AriEventWatcher() as watcher:
        _heard(await _caller_hears_the_offer(db, app, "89031112233", "74957654321", watcher), "ru")


async def test_a_russian_line_speaks_russian_in_a_call_centre_with_no_language(db, queue_gives_up, start_stasis_app):
    app = await start_stasis_app()
    async with AriEventWatcher() as watcher:
        # 7997...: the sandbox dialplan's Russian line (Set(CHANNEL(language)=ru) before pbxcrm-inbound).
        _heard(await _caller_hears_the_offer(db, app, "89031112244", "79971234567", watcher), "ru")


async def test_without_the_app_the_dialplans_default_queue_speaks_the_mirrored_language():
    """`pbxcrm ari` is not running: Stasis fails and [pbxcrm-default-queue] takes the caller,
    in the language the app last mirrored into DB(pbxcrm/language) (ari_app/dialplan_store.py)."""
    await require_sandbox()
    saved = {key: await astdb_get(key) for key in ("language", "default_dial")}
    try:
        # Nobody to dial: the caller waits in the [pbxcrm-default] queue, with music.
        for key, value in (("language", "ru"), ("default_dial", "")):
            await astdb_put(key, value)
        call = asyncio.create_task(sipp_call(caller="89031112255", called="74957654321", talk_ms=3000))

        async def waiting_caller():
            status, channels = await ari_get("/channels")
            return [c for c in channels if c["caller"]["number"] == "89031112255"
                    and c["dialplan"]["context"] == "pbxcrm-default-queue"
                    and c["dialplan"]["app_name"] == "Queue"] if status == 200 else None

        waiting = await wait_for(waiting_caller, timeout=5)
        result = await call
        assert result.returncode == 0, result.output
        assert waiting and waiting[0]["language"] == "ru", waiting
    finally:
        for key, value in saved.items():
            await astdb_put(key, value or "")
