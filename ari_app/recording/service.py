"""Recording conversations: Asterisk records the bridge as WAV; after the call,
off the call path, the file is fetched, turned into mp3, stored under
PBXCRM_RECORDINGS_DIR, deleted from Asterisk and linked to the call."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import os
import signal
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import lameenc
from pydub import AudioSegment

from ari_app.call_records import CallRecords
from ari_app.client import AriError, AriNotFound, AriUnavailable
from ari_app.media import CallMedia
from pbxcrm.lifetime import die_with_parent

log = logging.getLogger(__name__)

# Conversions are background work, done in a worker process at low priority:
# pydub in a thread of ours held the GIL for up to the 5 ms switch interval,
# which is what the slowest first dials of issue 8's benchmark waited for; and
# ffmpeg, started by the worker, inherits its priority, so routing the next
# call keeps the CPU.
CONVERSION_NICENESS = 10


def _start_converter(parent_pid: int) -> None:
    os.nice(CONVERSION_NICENESS)
    # Forked from a running event loop: drop its signal plumbing, or SIGTERM only pokes a dead loop.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Ctrl-C reaches the whole process group; the app shuts its worker down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Die with the app, even a SIGKILLed one: no orphan converter is left running.
    die_with_parent(parent_pid)


class Recorder:
    def __init__(self, media: CallMedia, records: CallRecords, directory: Path):
        self._media = media
        self._records = records
        self._dir = directory
        self._jobs: set[asyncio.Task] = set()
        # fork: the worker needs nothing but this module's to_mp3, and spawn would re-run our __main__.
        self._converter = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                              initializer=_start_converter, initargs=(os.getpid(),))
        self._converter.submit(os.getpid)  # fork the worker now, not during a call

    async def start(self, bridge_id: str, channel_id: str) -> str | None:
        """Start recording a bridge; the recording's name, or None if Asterisk refused."""
        try:
            name = await self._media.record_bridge(bridge_id, channel_id)
        except AriError as e:
            log.error("channel %s: recording did not start: %s", channel_id, e)
            return None
        log.info("channel %s: recording %s", channel_id, name)
        return name

    def finish(self, name: str, channel_id: str) -> None:
        """Stop the recording and convert it in the background."""
        self.background(self._finish(name, channel_id), f"recording {name}")

    def background(self, work, what: str) -> None:
        """Work off the call path (a conversion, a file stored) that the app's shutdown waits for."""
        task = asyncio.create_task(work, name=what)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def in_converter(self, fn, *args):
        """`fn(*args)` in the low-priority worker process (pydub and ffmpeg stay off the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self._converter, fn, *args)

    def folder(self, kind: str = "") -> Path:
        """Today's folder for stored files (`kind`: a subfolder, such as voicemail)."""
        folder = (self._dir / kind if kind else self._dir) / dt.date.today().strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    async def drain(self, timeout: float) -> None:
        if self._jobs:
            await asyncio.wait(list(self._jobs), timeout=timeout)
        self._converter.shutdown(wait=False, cancel_futures=True)

    async def _finish(self, name: str, channel_id: str) -> None:
        try:
            await self._media.stop_recording(name)
        except AriError:
            pass  # already stopped when the bridge went away
        wav = await self.fetch(name, channel_id)
        if wav is None:
            return
        wav_path = self.folder() / f"{channel_id}.wav"
        wav_path.write_bytes(wav)
        try:
            mp3_path, duration = await self.in_converter(to_mp3, wav_path)
        except Exception as e:  # pydub/ffmpeg: keep the WAV, say why
            log.error("channel %s: mp3 conversion failed, keeping %s: %s", channel_id, wav_path, e)
            self._link(channel_id, wav_path, "wav", None, name, f"conversion failed: {e}")
        else:
            wav_path.unlink()
            self._link(channel_id, mp3_path, "mp3", duration, name, None)
        await self.forget(name, channel_id)

    async def forget(self, name: str, channel_id: str) -> None:
        """Delete Asterisk's copy of a stored recording (ours is kept)."""
        try:
            await self._media.delete_recording(name)
        except AriError as e:
            log.warning("channel %s: Asterisk's copy %s not deleted: %s", channel_id, name, e)

    async def fetch(self, name: str, channel_id: str) -> bytes | None:
        # The stored file appears once Asterisk has closed it.
        for _ in range(20):
            try:
                return await self._media.fetch_recording(name)
            except (AriNotFound, AriUnavailable):
                # Not closed yet, or Asterisk's answer came out garbled: ask again.
                await asyncio.sleep(0.25)
            except AriError as e:
                log.error("channel %s: recording %s not fetched: %s", channel_id, name, e)
                return None
        log.error("channel %s: recording %s never appeared in Asterisk", channel_id, name)
        return None

    def _link(self, channel_id: str, path: Path, fmt: str, duration: float | None, name: str,
              error: str | None) -> None:
        size = path.stat().st_size
        self._records.recording_stored(channel_id, path=path, fmt=fmt, duration=duration, size=size,
                                       asterisk_name=name, error=error)
        log.info("channel %s: recording stored %s (%s s, %d bytes)", channel_id, path, duration, size)


MP3_KBITS = 32


def to_mp3(wav_path: Path) -> tuple[Path, float]:
    """The WAV as an MP3 beside it, and its seconds. 16-bit PCM, which Asterisk records, is encoded here by
    LAME (lameenc): under 1 ms of CPU a second of sound, where starting ffmpeg (pydub) cost ~70 ms a
    recording, most of the app's CPU per call at saturation (issue 25). Any other WAV goes through pydub."""
    mp3_path = wav_path.with_suffix(".mp3")
    try:
        with wave.open(str(wav_path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            pcm = w.readframes(w.getnframes()) if width == 2 and channels in (1, 2) else None
    except (wave.Error, EOFError):
        pcm = None
    if pcm is None:
        audio = AudioSegment.from_wav(wav_path)
        audio.export(mp3_path, format="mp3", bitrate=f"{MP3_KBITS}k")
        return mp3_path, round(len(audio) / 1000, 2)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_KBITS)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(channels)
    encoder.set_quality(2)
    mp3_path.write_bytes(encoder.encode(pcm) + encoder.flush())
    return mp3_path, round(len(pcm) / (2 * channels * rate), 2)
