"""Speech-like sound for the demo's recordings and voicemails: pink noise cut into syllables and
pauses, telephone band, 8 kHz mono mp3 at 32 kbit/s - the format the call path stores
(ari_app/recording/files.py to_mp3). A few base files are made with ffmpeg; each call's file
is a hard link to one (no disk per call), a copy where links are not possible."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

# Lengths (seconds) of the base files; a recorded call talks for one of them.
BASE_SECONDS = (14, 23, 37, 48, 65, 82, 104, 131, 167, 215, 280)
VOICEMAIL_SECONDS = (9, 16, 24)


def _filter(n: int) -> str:
    syllables, phrases = 1.9 + (n % 5) * 0.21, 0.23 + (n % 3) * 0.05
    return (f"volume='0.08+0.92*abs(sin(2*PI*{syllables:.2f}*t))*gt(sin(2*PI*{phrases:.2f}*t+{n % 4}),-0.3)'"
            ":eval=frame,highpass=f=300,lowpass=f=3400")


async def _make(path: Path, seconds: int, n: int) -> None:
    if path.exists() and path.stat().st_size > 0:
        return
    tmp = path.with_suffix(".part.mp3")
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-y", "-nostdin", "-loglevel", "error", "-f", "lavfi",
        "-i", f"anoisesrc=color=pink:amplitude=0.5:duration={seconds}:sample_rate=8000:seed={n + 1}",
        "-af", _filter(n), "-ac", "1", "-ar", "8000", "-b:a", "32k", str(tmp),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make {path}: {err.decode(errors='replace')[-500:]}")
    tmp.rename(path)


async def bases(directory: Path, lengths: tuple[int, ...], prefix: str) -> dict[int, Path]:
    """The base files (made once, kept in `directory`), seconds -> path; two ffmpeg at a time."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {s: directory / f"{prefix}-{s}s.mp3" for s in lengths}
    limit = asyncio.Semaphore(2)

    async def one(n: int, seconds: int) -> None:
        async with limit:
            await _make(paths[seconds], seconds, n)

    await asyncio.gather(*(one(n, s) for n, s in enumerate(lengths)))
    return paths


def place(base: Path, target: Path) -> int:
    """`target` made to hold `base`'s sound; its size in bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(base, target)
    except OSError:
        shutil.copyfile(base, target)
    return target.stat().st_size
