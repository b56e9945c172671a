"""What a caller presses and hears to the end: the primitive of menus and offers.

A session's Keypad receives the caller's DTMF (ChannelDtmfReceived) and the end of
its playbacks (PlaybackFinished), routed by ari_app/calls.py. `ask` plays prompts
that a key interrupts, then waits for the key; `play` plays to the end. Digits
pressed while a prompt plays count (callers type ahead of a menu they know).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid
from collections.abc import Sequence

from ari_app.client import AriError
from ari_app.constants import OUR_PREFIX
from ari_app.media import CallMedia
from ari_app.waiting import first_of as _first

log = logging.getLogger(__name__)

# A PlaybackFinished that never comes (a lost event) must not hold the caller for ever.
LONGEST_PROMPT_SECONDS = 300.0


class Keypad:
    def __init__(self, media: CallMedia, channel_id: str, language: str, caller_gone: asyncio.Event):
        self.media = media
        self.channel_id = channel_id
        self.language = language
        self.caller_gone = caller_gone
        self._digits: collections.deque[str] = collections.deque()
        self._new_key = asyncio.Event()
        self._playing: dict[str, asyncio.Event] = {}

    # ---- events ----

    def pressed(self, digit: str) -> None:
        self._digits.append(digit)
        self._new_key.set()

    def playback_finished(self, playback_id: str) -> None:
        finished = self._playing.get(playback_id)
        if finished is not None:
            finished.set()

    def clear(self) -> None:
        """Forget the keys pressed so far (before a prompt whose answer must be fresh)."""
        self._digits.clear()

    # ---- what the caller hears ----

    async def play(self, sounds: Sequence[str]) -> bool:
        """Play `sounds` to the end; False when the caller hung up or Asterisk refused."""
        playback_id = await self._start(sounds)
        if playback_id is None:
            return False
        try:
            await _first(self._playing[playback_id].wait(), self.caller_gone.wait(),
                         asyncio.sleep(LONGEST_PROMPT_SECONDS))
        finally:
            self._playing.pop(playback_id, None)
        return not self.caller_gone.is_set()

    async def ask(self, sounds: Sequence[str], *, timeout: float, digits: int = 1,
                  stop_on: str = "#") -> str | None:
        """Play `sounds` (a key stops them) and collect up to `digits` keys, `stop_on` ending early.
        `timeout` counts from the prompt's end, and again between keys. None: no key, or the caller left."""
        playback_id = await self._start(sounds) if sounds else None
        if playback_id is not None:
            finished = self._playing[playback_id]
            try:
                await _first(finished.wait(), self._key_waiting(), self.caller_gone.wait(),
                             asyncio.sleep(LONGEST_PROMPT_SECONDS))
                if not finished.is_set() and not self.caller_gone.is_set():
                    await self.media.quietly(self.channel_id, self.media.stop_playback(playback_id))
            finally:
                self._playing.pop(playback_id, None)
        keys = ""
        while len(keys) < digits and not self.caller_gone.is_set():
            key = await self._next_key(timeout)
            if key is None:
                break
            if key == stop_on:
                break
            keys += key
        if self.caller_gone.is_set():
            return None
        log.info("channel %s: caller pressed %r", self.channel_id, keys)
        return keys or None

    # ---- helpers ----

    async def _start(self, sounds: Sequence[str]) -> str | None:
        playback_id = f"{OUR_PREFIX}{uuid.uuid4().hex}"
        self._playing[playback_id] = asyncio.Event()
        try:
            await self.media.play(self.channel_id, ",".join(sounds), self.language, playback_id=playback_id)
        except AriError as e:
            log.info("channel %s: could not play %s: %s", self.channel_id, ",".join(sounds), e)
            self._playing.pop(playback_id, None)
            return None
        return playback_id

    async def _key_waiting(self) -> None:
        while not self._digits:
            self._new_key.clear()
            await self._new_key.wait()

    async def _next_key(self, timeout: float) -> str | None:
        if not self._digits:
            await _first(self._key_waiting(), self.caller_gone.wait(), asyncio.sleep(timeout))
        return self._digits.popleft() if self._digits else None
