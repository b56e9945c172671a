"""A benchmark's table, as `make bench` and the benches run alone print it and keep it in bench/results/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

HEAD = "| benchmark | median | spread | target | ratio / n |\n|---|---|---|---|---|\n"


def write_results(path: Path, title: str, rows: Iterable[tuple], facts: str = "") -> str:
    """The table of `rows` under '# <title>, <now>' (and the machine's facts), printed and written to `path`."""
    table = HEAD + "\n".join("| " + " | ".join(row) + " |" for row in rows)
    text = f"# {title}, {dt.datetime.now():%Y-%m-%d %H:%M}\n\n" + (f"{facts}\n\n" if facts else "") + f"{table}\n"
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text
