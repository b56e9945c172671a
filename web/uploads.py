"""A file upload spooled to a file of its own, for work that outlives the request's form
(an Excel import's job, a greeting's conversion)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


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
