"""Recording conversations: Asterisk records the bridge as WAV; after the call,
off the call path, the file is fetched, turned into mp3, stored under
PBXCRM_RECORDINGS_DIR, deleted from Asterisk and linked to the call.

Each of those steps waits for the calls being routed (ari_app/call_path.py), the
first lets the next call come in, and what touches files or the CPU runs in the
converter process (ari_app/recording/files.py): the next call's lookup does not
wait for the last call's recording (issue 25)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ari_app.call_path import CallPath
from ari_app.call_records import CallRecords
from ari_app.client import AriError, AriNotFound, AriUnavailable
from ari_app.media import CallMedia
from ari_app.recording import files
from pbxcrm.lifetime import die_with_parent

log = logging.getLogger(__name__)

# Conversions are background work, done in a worker process at low priority:
# pydub in a thread of ours held the GIL for up to the 5 ms switch interval,
# which is what the slowest first dials of issue 8's benchmark waited for; and
# ffmpeg, started by the worker, inherits its priority, so routing the next
# call keeps the CPU. Not SCHED_IDLE: on a machine busy with other work the
# conversions would wait for good and pile up; they are kept out of the calls'
# routing by when they start instead (ari_app/call_path.py).
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
    def __init__(self, media: CallMedia, records: CallRecords, directory: Path, call_path: CallPath | None = None):
        self._media = media
        self._records = records
        self._dir = directory
        self._call_path = call_path or CallPath()
        self._jobs: set[asyncio.Task] = set()
        # fork: the worker needs nothing but ari_app/recording/files.py, and spawn would re-run our __main__.
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
        """Today's folder for stored files (`kind`: a subfolder, such as voicemail); the converter makes it."""
        return (self._dir / kind if kind else self._dir) / dt.date.today().strftime("%Y/%m/%d")

    async def after_routing(self) -> None:
        """Wait while a call is being routed (ari_app/call_path.py): each background step begins with it."""
        await self._call_path.clear()

    async def drain(self, timeout: float) -> None:
        if self._jobs:
            await asyncio.wait(list(self._jobs), timeout=timeout)
        self._converter.shutdown(wait=False, cancel_futures=True)

    async def _finish(self, name: str, channel_id: str) -> None:
        try:  # at once, as the call ends: the recording is the conversation's length
            await self._media.stop_recording(name)
        except AriError:
            pass  # already stopped when the bridge went away
        await self._call_path.after_call()  # the next call may be coming in: it goes first
        wav = await self.fetch(name, channel_id)
        if wav is None:
            return
        await self.after_routing()
        try:
            stored = await self.in_converter(files.store, wav, self.folder(), channel_id)
        except Exception as e:  # the worker gone, the disk full: Asterisk keeps its copy
            log.error("channel %s: recording %s not stored (%s: %s); Asterisk keeps it", channel_id, name,
                      type(e).__name__, e)
            return
        if stored.error:
            log.error("channel %s: mp3 conversion failed, keeping %s: %s", channel_id, stored.path, stored.error)
        self._records.recording_stored(channel_id, path=stored.path, fmt=stored.fmt, duration=stored.duration,
                                       size=stored.size, asterisk_name=name, error=stored.error)
        log.info("channel %s: recording stored %s (%s s, %d bytes)", channel_id, stored.path, stored.duration,
                 stored.size)
        await self.after_routing()
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
            await self.after_routing()
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
