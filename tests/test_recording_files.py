"""A recording's file work happens in the converter process, at low CPU priority (issue 25):
ari_app/recording/files.py there, ari_app/recording/service.py's worker set up for it."""

from __future__ import annotations

import os
from pathlib import Path

from ari_app.call_records import CallRecords
from ari_app.recording import files
from ari_app.recording.service import CONVERSION_NICENESS, Recorder
from tests.fake_ari import tone_wav


def test_a_wav_is_stored_as_mp3_in_a_folder_made_for_it(tmp_path: Path):
    folder = tmp_path / "2026" / "12" / "01"
    stored = files.store(tone_wav(1.5), folder, "1700000000.1")
    assert stored.path == folder / "1700000000.1.mp3" and stored.fmt == "mp3" and stored.error is None
    assert stored.size == stored.path.stat().st_size > 0 and 1.4 <= stored.duration <= 1.6
    assert not (folder / "1700000000.1.wav").exists(), "the WAV is deleted once converted"


def test_a_wav_that_cannot_be_converted_is_kept_with_the_reason(tmp_path: Path):
    stored = files.store(b"RIFF, but not really a WAV", tmp_path, "broken")
    assert stored.path == tmp_path / "broken.wav" and stored.fmt == "wav" and stored.duration is None
    assert stored.size == len(b"RIFF, but not really a WAV") and stored.error.startswith("conversion failed")


def test_a_voicemail_is_written_and_measured_and_a_discarded_one_deleted(tmp_path: Path):
    path, seconds, peak = files.write_and_measure(tone_wav(2.0), tmp_path / "voicemail", "1.2")
    assert path.exists() and 1.9 <= seconds <= 2.1 and peak > 0
    files.delete(path)
    files.delete(path)  # already gone: nothing to say
    assert not path.exists()


class _NoRecords(CallRecords):
    def __init__(self) -> None:
        pass


async def test_the_converter_runs_at_low_priority_in_its_own_process_and_stores_in_todays_folder(tmp_path: Path):
    recorder = Recorder(media=None, records=_NoRecords(), directory=tmp_path)  # type: ignore[arg-type]
    try:
        pid = await recorder.in_converter(os.getpid)
        assert pid != os.getpid()
        assert await recorder.in_converter(os.nice, 0) == os.nice(0) + CONVERSION_NICENESS
        stored = await recorder.in_converter(files.store, tone_wav(1.0), recorder.folder(), "c1")
        assert stored.fmt == "mp3" and stored.path.parent == recorder.folder() and stored.path.exists()
        assert str(stored.path).startswith(str(tmp_path))
    finally:
        await recorder.drain(timeout=1)
