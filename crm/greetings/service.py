"""Adding a greeting: checked and converted (crm/greetings/audio.py) into the greetings
directory, then saved; deleting one removes its file. Nothing is kept of a refused upload."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import asyncpg

from crm.errors import DomainError, ValidationError
from crm.greetings import audio
from crm.greetings import queries as greetings_q
from crm.i18n import gettext as _

log = logging.getLogger(__name__)

NAME_MAX = 60


class StorageError(DomainError):
    """The greetings directory cannot be written: the server's setup, not the file."""

    status = 503


def clean_name(name: str, filename: str) -> str:
    """The admin's name for it, else the file's name without its extension."""
    cleaned = " ".join(name.split()) or " ".join(Path(filename).stem.split())
    if not 0 < len(cleaned) <= NAME_MAX:
        raise ValidationError({"name": _("a greeting's name is 1 to %(max)d characters") % {"max": NAME_MAX}})
    return cleaned


async def upload(conn: asyncpg.Connection, admin_id: int, *, name: str, filename: str, source: Path,
                 directory: Path) -> int:
    """Check `source` (the upload, spooled), convert it into `directory` and save it; its id."""
    filename = Path(filename.replace("\\", "/")).name[:200]
    fmt = audio.check_name_and_size(filename, source.stat().st_size)
    name = clean_name(name, filename)
    if await greetings_q.name_taken(conn, name):
        raise ValidationError({"name": _("a greeting named %(name)s exists already") % {"name": name}})
    probed = await audio.probe(source, filename, fmt)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        log.error("greetings directory %s: %s", directory, e)
        raise StorageError(_("the greetings directory cannot be written on the server: %(error)s") % {
            "error": e.strerror or e}) from None
    file = f"greeting-{secrets.token_hex(8)}"
    target = directory / f"{file}.wav"
    await audio.convert(source, target, filename)
    try:
        greeting_id = await greetings_q.insert_greeting(conn, admin_id, name=name, file=file, original_name=filename,
                                                        seconds=probed.seconds)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    log.info("greeting %s (%s, %.1f s) saved as %s", greeting_id, filename, probed.seconds, target)
    return greeting_id


async def delete(conn: asyncpg.Connection, admin_id: int, greeting_id: int, directory: Path) -> None:
    file = await greetings_q.delete_greeting(conn, admin_id, greeting_id)
    (directory / f"{file}.wav").unlink(missing_ok=True)


def file_path(directory: Path, file: str) -> Path:
    return directory / f"{file}.wav"
