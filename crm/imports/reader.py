"""Reading an uploaded .xlsx safely: refuse what is not a workbook, too big, a zip
bomb, or has formulas, with a message the user can act on."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import load_workbook

from crm.i18n import _, ngettext

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
MAX_ROWS = 100_000


class RefusedFile(ValueError):
    """The file is not imported at all; the message says why."""


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list]]]:
    """(header, [(row number, values)]) of the first sheet."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RefusedFile(_("the file is %(size)d MB; at most %(limit)d MB")
                          % {"size": size // (1024 * 1024), "limit": MAX_FILE_BYTES // (1024 * 1024)})
    if not zipfile.is_zipfile(path):
        raise RefusedFile(_("this is not an Excel .xlsx file"))
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(i.file_size for i in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES or (unpacked > 20 * 1024 * 1024 and unpacked > MAX_RATIO * size):
            raise RefusedFile(_("the file unpacks to far more than it weighs (a zip bomb?); refused"))
        if "xl/workbook.xml" not in archive.namelist():
            raise RefusedFile(_("this is a zip file but not an Excel .xlsx workbook"))
    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception as e:  # openpyxl raises many kinds for broken files; all mean the same here
        raise RefusedFile(_("the workbook cannot be read (%(error)s)") % {"error": type(e).__name__}) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows()
        header_cells = next(rows, None)
        if header_cells is None:
            raise RefusedFile(_("the first sheet is empty"))
        header = [str(c.value or "").strip() for c in header_cells]
        out = []
        for number, cells in enumerate(rows, start=2):
            values = []
            for cell in cells:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                    raise RefusedFile(_("formulas are not accepted (cell %(cell)s); paste values instead")
                                      % {"cell": cell.coordinate})
                values.append(cell.value)
            if any(v not in (None, "") for v in values):
                out.append((number, values))
            if len(out) > MAX_ROWS:
                raise RefusedFile(ngettext("more than %(num)d row; split the file",
                                           "more than %(num)d rows; split the file", MAX_ROWS) % {"num": MAX_ROWS})
        return header, out
    finally:
        workbook.close()


def columns(header: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Which column holds which field, by header names (any case, English or Russian)."""
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        for field, names in aliases.items():
            if title.lower() in names:
                found.setdefault(field, index)
    return found
