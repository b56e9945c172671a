"""The prompts a caller hears are in the line's language, else the call centre's, else English (issue 14).

The Stasis app against the fake ARI (tests/fake_ari.py), which checks the `lang`
parameter of POST /channels/{id}/play against Asterisk's documents. The real
Asterisk playing the Russian file is tests/test_caller_prompts.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from ari_app.caller_language import caller_language
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    STRANGER,
    fake,
    spec,
    start_app,
)
from tests.fast_clock import fast_clock

# A queue nobody answered offers a callback or voicemail (issue 15), starting with "nobody is available".
OFFER = "sound:vm-nobodyavail,sound:vm-tocallnum"


@pytest.mark.parametrize("channel, centre, heard", [
    ("en", "ru", "ru"),  # Asterisk's default: no line language, the centre's applies
    ("en", None, "en"),
    ("", None, "en"),
    ("ru", "en", "ru"),  # the line's own language wins
    ("de", None, "de"),  # any language Asterisk has sounds for, not only the CRM's
])
def test_the_line_language_comes_first_then_the_centres_then_english(channel, centre, heard):
    assert caller_language(channel, centre) == heard


async def _centre_language(pool, language: str | None) -> None:
    async with pool.acquire() as conn:
        await conn.execute("""INSERT INTO app_settings (key, value) VALUES ('locale.language', $1::jsonb)
                              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""", json.dumps(language))


async def _offer_prompt(db, fake, start_app, *, line_language: str = "en"):
    """A stranger's call to a default queue with nobody in it: the queue's longest wait passes,
    and the caller hears the offer, then hangs up. The play request and its PlaybackStarted."""
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET max_wait_seconds = 5 WHERE is_default")
    with fast_clock(asyncio.get_running_loop(), 30):
        app = await start_app()
        caller = await fake.incoming(STRANGER, language=line_language)
        play = await fake.wait_request("POST", f"/channels/{caller}/play", timeout=5)
        await fake.hang_up(caller)
        await app.stop()
    started = [e["playback"] for e in fake.events if e["type"] == "PlaybackStarted"]
    return play.query, started


async def test_the_offer_is_in_russian_when_the_call_centre_speaks_russian(db, fake, start_app):
    await _centre_language(db, "ru")
    play, started = await _offer_prompt(db, fake, start_app)
    assert (play["media"], play["lang"]) == (OFFER, "ru")
    assert [(p["media_uri"], p["language"]) for p in started] == [("sound:vm-nobodyavail", "ru")]
    # The dialplan's default queue, where callers go when the app cannot take them, speaks it too.
    assert fake.astdb["language"] == "ru"


async def test_the_offer_is_in_english_when_the_call_centre_has_no_language(db, fake, start_app):
    play, _ = await _offer_prompt(db, fake, start_app)
    assert (play["media"], play["lang"]) == (OFFER, "en")
    assert fake.astdb["language"] == ""


async def test_a_line_with_its_own_language_keeps_it_in_a_centre_of_another(db, fake, start_app):
    await _centre_language(db, "en")
    play, _ = await _offer_prompt(db, fake, start_app, line_language="ru")
    assert (play["media"], play["lang"]) == (OFFER, "ru")
