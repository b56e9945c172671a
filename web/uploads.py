"""A file upload spooled to a file of its own, for work that outlives the request's form
(an Excel import's job, a greeting's conversion)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from starlette.datastructures import UploadFile

from crm.errors import ValidationError
from crm.i18n import gettext as _
from crm.imports.reader import RefusedFile, read_rows


def spool(source, *, prefix: str, suffix: str) -> Path:
    """Copy the upload's file object into a new temporary file; removed if copying fails."""
    handle = tempfile.NamedTemporaryFile(prefix=prefix, suffix=suffix, delete=False)
    path = Path(handle.name)
    try:
        with handle:
            shutil.copyfileobj(source, handle)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def read_sheet(upload, *, prefix: str) -> tuple[list[str], list[tuple[int, list]]]:
    """An uploaded .xlsx's first sheet (crm.imports.reader.read_rows): its header and rows; a missing or
    refused file is the form's `file` error."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationError({"file": _("choose an .xlsx file")})
    path = await asyncio.to_thread(spool, upload.file, prefix=prefix, suffix=".xlsx")
    try:
        return await asyncio.to_thread(read_rows, path)
    except RefusedFile as e:
        raise ValidationError({"file": str(e)}) from None
    finally:
        path.unlink(missing_ok=True)
