"""A recording's WAV to mp3 (ari_app/recording/files.py to_mp3): Asterisk's 16-bit PCM by LAME in the
converter process, anything else through pydub and ffmpeg; both playable mp3 files of the right length."""

import json
import math
import struct
import subprocess
import wave

from ari_app.recording.files import to_mp3


def _wav(path, seconds: float, *, width: int = 2, rate: int = 8000, channels: int = 1):
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 2:
            samples = [int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames)]
            w.writeframes(b"".join(struct.pack("<" + "h" * channels, *([v] * channels)) for v in samples))
        else:
            w.writeframes(bytes(128 + int(100 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames)))
    return path


def _probe(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration,format_name:stream=sample_rate",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_asterisks_16_bit_wav_becomes_an_mp3_of_the_same_length(tmp_path):
    for channels, rate in ((1, 8000), (1, 16000), (2, 8000)):
        wav = _wav(tmp_path / f"call-{channels}-{rate}.wav", 3.0, rate=rate, channels=channels)
        mp3, seconds = to_mp3(wav)
        assert mp3 == wav.with_suffix(".mp3") and seconds == 3.0
        info = _probe(mp3)
        assert info["format"]["format_name"] == "mp3"
        assert abs(float(info["format"]["duration"]) - 3.0) < 0.2, info


def test_an_8_bit_wav_goes_through_ffmpeg(tmp_path):
    mp3, seconds = to_mp3(_wav(tmp_path / "old.wav", 2.0, width=1))
    assert seconds == 2.0 and _probe(mp3)["format"]["format_name"] == "mp3"
