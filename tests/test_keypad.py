"""ari_app/keypad.py: prompts a key interrupts, keys typed ahead, timeouts counted from the prompt's end."""

from __future__ import annotations

import asyncio
import time

import pytest

from ari_app.client import AriError
from ari_app.keypad import Keypad


class Media:
    """The media adapter as the keypad uses it: plays finish when the test says (or after `length`)."""

    def __init__(self, length: float | None = None, refuse: bool = False):
        self.length, self.refuse = length, refuse
        self.played: list[tuple[str, str, str]] = []
        self.stopped: list[str] = []
        self.keypad: Keypad | None = None

    async def play(self, channel_id, media, language, *, playback_id=None):
        if self.refuse:
            raise AriError("POST", f"/channels/{channel_id}/play", 404, "Channel not found")
        self.played.append((media, language, playback_id))
        if self.length is not None:
            asyncio.get_running_loop().call_later(self.length, self.keypad.playback_finished, playback_id)

    async def stop_playback(self, playback_id):
        self.stopped.append(playback_id)
        self.keypad.playback_finished(playback_id)

    async def quietly(self, channel_id, request):
        await request
        return True


def keypad(media: Media) -> tuple[Keypad, asyncio.Event]:
    gone = asyncio.Event()
    media.keypad = Keypad(media, "chan-1", "ru", gone)
    return media.keypad, gone


async def test_a_key_stops_the_prompt_and_is_the_answer():
    media = Media(length=None)  # a prompt that would play for ever
    pad, _ = keypad(media)
    asyncio.get_running_loop().call_later(0.05, pad.pressed, "2")
    assert await asyncio.wait_for(pad.ask(["sound:menu"], timeout=5), 2) == "2"
    assert media.played[0][:2] == ("sound:menu", "ru")
    assert media.stopped == [media.played[0][2]]


async def test_no_key_times_out_after_the_prompt_ends():
    media = Media(length=0.3)
    pad, _ = keypad(media)
    started = time.monotonic()
    assert await pad.ask(["sound:a", "sound:b"], timeout=0.2) is None
    took = time.monotonic() - started
    assert 0.45 <= took < 1.5, took
    assert media.played[0][0] == "sound:a,sound:b"
    assert media.stopped == []


async def test_keys_typed_ahead_count_and_hash_ends_early():
    media = Media(length=0.05)
    pad, _ = keypad(media)
    for key in "12#9":
        pad.pressed(key)
    assert await pad.ask(["sound:ext"], timeout=1, digits=4) == "12"
    # The 9 after the # waits for the next question; clear() forgets it.
    pad.clear()
    assert await pad.ask([], timeout=0.05) is None


async def test_several_keys_wait_between_keys():
    media = Media(length=0.01)
    pad, _ = keypad(media)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, pad.pressed, "1")
    loop.call_later(0.15, pad.pressed, "0")
    loop.call_later(0.25, pad.pressed, "3")
    assert await pad.ask(["sound:ext"], timeout=0.5, digits=3) == "103"


@pytest.mark.parametrize("how", ["hangs up", "refused"])
async def test_play_says_whether_it_played_to_the_end(how):
    media = Media(length=None, refuse=how == "refused")
    pad, gone = keypad(media)
    asyncio.get_running_loop().call_later(0.05, gone.set)
    assert await asyncio.wait_for(pad.play(["sound:hello"]), 2) is False
    assert await asyncio.wait_for(pad.ask(["sound:menu"], timeout=5), 2) is None


async def test_play_waits_for_its_own_playback():
    media = Media(length=0.1)
    pad, _ = keypad(media)
    pad.playback_finished("someone-elses")
    started = time.monotonic()
    assert await pad.play(["sound:hello"]) is True
    assert time.monotonic() - started >= 0.09
