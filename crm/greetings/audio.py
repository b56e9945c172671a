"""An uploaded greeting checked with ffprobe and converted with ffmpeg to what Asterisk plays:
8 kHz mono signed 16-bit WAV (Asterisk's `wav` format). Only mp3 and wav files are taken,
and only when ffprobe finds audio in them of the kind the name says; anything else, too
big or too long, is refused with a message that says why (ValidationError on "file")."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from crm.errors import ValidationError
from crm.i18n import gettext as _

log = logging.getLogger(__name__)

EXTENSIONS = {".mp3": "mp3", ".wav": "wav"}  # the name's extension -> ffprobe's format name
MAX_BYTES = 16 * 1024 * 1024
MAX_SECONDS = 300
SAMPLE_RATE = 8000
_TOOL_SECONDS = 60  # ffprobe or ffmpeg taking longer than this is stuck


@dataclass(frozen=True)
class Probed:
    format: str  # "mp3" | "wav"
    seconds: float


def _refuse(message: str) -> ValidationError:
    return ValidationError({"file": message})


def check_name_and_size(filename: str, size: int) -> str:
    """The format the name promises; refused when it is not mp3 or wav, empty or too big."""
    fmt = EXTENSIONS.get(Path(filename).suffix.lower())
    if fmt is None:
        raise _refuse(_("%(file)s is not an mp3 or wav file: only those can be greetings") % {"file": filename})
    if size == 0:
        raise _refuse(_("%(file)s is empty") % {"file": filename})
    if size > MAX_BYTES:
        raise _refuse(_("%(file)s is too big: a greeting's file is at most %(mb)d MB") % {
            "file": filename, "mb": MAX_BYTES >> 20})
    return fmt


async def _run(*args: str) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), _TOOL_SECONDS)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, b"", b"timed out"
    return proc.returncode or 0, out, err


async def probe(path: Path, filename: str, expected: str) -> Probed:
    """What ffprobe finds in the file: refused unless it is audio of the expected format and length."""
    code, out, err = await _run("ffprobe", "-v", "error", "-show_entries",
                                "format=format_name,duration:stream=codec_type", "-of", "json", str(path))
    try:
        info = json.loads(out) if code == 0 else {}
    except ValueError:
        info = {}
    streams = [s.get("codec_type") for s in info.get("streams", [])]
    formats = set(str(info.get("format", {}).get("format_name", "")).split(","))
    if "audio" not in streams:
        log.info("greeting %s refused: ffprobe says %s", filename, err.decode(errors="replace")[-300:] or info)
        raise _refuse(_("%(file)s is not an audio file") % {"file": filename})
    if expected not in formats:
        raise _refuse(_("%(file)s is not really an %(format)s file (it holds %(found)s)") % {
            "file": filename, "format": expected, "found": ", ".join(sorted(formats - {""})) or "?"})
    try:
        seconds = float(info["format"]["duration"])
    except (KeyError, TypeError, ValueError):
        seconds = 0.0
    if seconds <= 0:
        raise _refuse(_("%(file)s holds no sound") % {"file": filename})
    if seconds > MAX_SECONDS:
        raise _refuse(_("%(file)s is too long (%(seconds)d s): a greeting is at most %(max)d seconds") % {
            "file": filename, "seconds": round(seconds), "max": MAX_SECONDS})
    return Probed(expected, seconds)


async def convert(source: Path, target: Path, filename: str) -> None:
    """Write `target` as 8 kHz mono 16-bit WAV; refused (and nothing left) when ffmpeg cannot."""
    code, _out, err = await _run("ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-vn",
                                 "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "wav", str(target))
    if code != 0 or not target.is_file() or target.stat().st_size <= 44:
        target.unlink(missing_ok=True)
        log.warning("greeting %s not converted: %s", filename, err.decode(errors="replace")[-500:])
        raise _refuse(_("%(file)s could not be converted to what the telephone plays") % {"file": filename})
