"""Voicemails (issue 15): Asterisk records the caller's channel as WAV after a beep, until '#',
the longest length or the hang-up; the message is judged at once (crm/voicemails/model.py verdict:
too short, silent, or kept), and a kept one is turned into mp3 off the call path, stored under
PBXCRM_RECORDINGS_DIR/voicemail and handed to the CRM with its callback task (ari_app/call_records.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from ari_app.call_records import CallRecords
from ari_app.constants import voicemail_recording_name
from ari_app.media import CallMedia
from ari_app.recording import files
from ari_app.recording.service import Recorder
from crm.calls.route import Outcome
from crm.voicemails.model import MAX_SECONDS, verdict

log = logging.getLogger(__name__)

# The caller ends the message with this key (or by hanging up).
END_KEY = "#"
# After the hang-up or the longest length, how long Asterisk may take to say the recording ended.
SETTLE_SECONDS = 3.0


@dataclass(frozen=True)
class Message:
    """What the caller left: the verdict (voicemail_left, voicemail_too_short, voicemail_silent,
    voicemail_lost) and, for a kept one, the WAV and its length."""

    outcome: Outcome
    wav: Path | None = None
    seconds: float = 0.0
    name: str = ""

    @property
    def kept(self) -> bool:
        return self.wav is not None


class VoicemailRecorder:
    def __init__(self, media: CallMedia, records: CallRecords, recorder: Recorder):
        self._media = media
        self._records = records
        self._recorder = recorder
        self._ended: dict[str, asyncio.Future] = {}  # recording name -> its RecordingFinished/Failed

    def recording_ended(self, recording: dict) -> None:
        """RecordingFinished or RecordingFailed (ari_app/calls.py)."""
        ended = self._ended.get(recording.get("name", ""))
        if ended is not None and not ended.done():
            ended.set_result(recording)

    async def record(self, channel_id: str, caller_gone: asyncio.Event) -> Message:
        """Record the caller's message and judge it. Raises AriError when Asterisk will not record."""
        name = voicemail_recording_name(channel_id)
        # Listened for before the request: a message cut short may end before the request's answer.
        ended: asyncio.Future = asyncio.get_running_loop().create_future()
        self._ended[name] = ended
        try:
            await self._media.record_channel(channel_id, max_seconds=MAX_SECONDS, terminate_on=END_KEY)
            log.info("channel %s: recording a voicemail as %s", channel_id, name)
            await _until(ended, MAX_SECONDS + SETTLE_SECONDS, caller_gone)
            if not ended.done() and not caller_gone.is_set():
                await self._media.quietly(channel_id, self._media.stop_recording(name))
            await _until(ended, SETTLE_SECONDS)
        finally:
            self._ended.pop(name, None)
        recording = ended.result() if ended.done() else {}
        if recording.get("state") == "failed":
            return Message(Outcome("voicemail_lost", {"error": recording.get("cause") or "failed"}), name=name)
        return await self._judge(name, channel_id)

    def keep(self, message: Message, channel_id: str, *, queue_id: int | None) -> None:
        """Off the call path: the kept message as mp3, handed to the CRM (voicemail row, callback task)."""
        self._recorder.background(self._keep(message, channel_id, queue_id), f"voicemail {message.name}")

    async def _judge(self, name: str, channel_id: str) -> Message:
        wav = await self._recorder.fetch(name, channel_id)
        if wav is None:
            return Message(Outcome("voicemail_lost", {"error": "no file from Asterisk"}), name=name)
        folder = self._recorder.folder("voicemail")
        try:  # written and measured in the converter process (ari_app/recording/files.py)
            path, seconds, peak = await self._recorder.in_converter(files.write_and_measure, wav, folder, channel_id)
        except Exception as e:  # not a WAV pydub can read: keep it, say so
            log.error("channel %s: voicemail %s unreadable: %s", channel_id, folder / f"{channel_id}.wav", e)
            return Message(Outcome("voicemail_lost", {"error": f"unreadable: {e}"}), name=name)
        outcome = verdict(seconds, peak)
        log.info("channel %s: voicemail of %.1f s from %s: %s", channel_id, seconds, name, outcome)
        if outcome.code != "voicemail_left":
            await self._recorder.in_converter(files.delete, path)
            await self._recorder.forget(name, channel_id)
            return Message(outcome, seconds=seconds, name=name)
        return Message(outcome, path, seconds, name)

    async def _keep(self, message: Message, channel_id: str, queue_id: int | None) -> None:
        assert message.wav is not None
        await self._recorder.after_routing()
        try:
            stored = await self._recorder.in_converter(files.convert, message.wav)
        except Exception as e:  # the worker gone: the WAV and Asterisk's copy stay
            log.error("channel %s: voicemail %s not stored (%s: %s)", channel_id, message.wav, type(e).__name__, e)
            return
        if stored.error:  # pydub/ffmpeg: the WAV is kept, playable as it is
            log.error("channel %s: voicemail mp3 conversion failed, keeping %s: %s", channel_id, stored.path,
                      stored.error)
        self._records.voicemail_kept(channel_id, path=stored.path, fmt=stored.fmt, seconds=message.seconds,
                                     size=stored.size, queue_id=queue_id)
        await self._recorder.after_routing()
        await self._recorder.forget(message.name, channel_id)


async def _until(ended: asyncio.Future, seconds: float, caller_gone: asyncio.Event | None = None) -> None:
    """Wait for the recording's end, at most `seconds`, or (if given) until the caller hangs up."""
    gone = [asyncio.ensure_future(caller_gone.wait())] if caller_gone is not None else []
    try:
        await asyncio.wait([ended, *gone], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in gone:
            waiter.cancel()
