"""What the converter process does with a recording (ari_app/recording/service.py runs these there,
never on the event loop): the WAV Asterisk gave written into its folder, turned into mp3 (LAME;
pydub and ffmpeg for WAVs other than 16-bit PCM), the WAV deleted, the sizes read. The app's process
only fetches the bytes and links the result to the call (issue 25: no file I/O, no CPU work beside
the calls being routed)."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import lameenc
from pydub import AudioSegment


@dataclass(frozen=True)
class Stored:
    """A recording as kept: its file, format, length (None: not known) and size; `error` says why
    a WAV was kept instead of an mp3."""

    path: Path
    fmt: str
    duration: float | None
    size: int
    error: str | None = None


def store(wav: bytes, folder: Path, stem: str) -> Stored:
    """The WAV written into `folder` (made if missing) as `stem`.wav, then kept as mp3 (below)."""
    return convert(write(wav, folder, stem))


def write(wav: bytes, folder: Path, stem: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.wav"
    path.write_bytes(wav)
    return path


def convert(wav_path: Path) -> Stored:
    """The WAV as mp3 beside it, the WAV deleted; a WAV pydub or ffmpeg cannot convert is kept, with why."""
    try:
        mp3_path, duration = to_mp3(wav_path)
    except Exception as e:  # pydub/ffmpeg
        return Stored(wav_path, "wav", None, wav_path.stat().st_size, f"conversion failed: {e}")
    wav_path.unlink()
    return Stored(mp3_path, "mp3", duration, mp3_path.stat().st_size)


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


def write_and_measure(wav: bytes, folder: Path, stem: str) -> tuple[Path, float, int]:
    """A voicemail's WAV written (as `store`), with its length in seconds and loudest sample
    (0: digital silence). Raises when pydub cannot read it; the file stays."""
    path = write(wav, folder, stem)
    audio = AudioSegment.from_wav(path)
    return path, len(audio) / 1000, audio.max


def delete(path: Path) -> None:
    path.unlink(missing_ok=True)
