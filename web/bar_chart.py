"""Horizontal bars of two parts (answered, then abandoned or missed), drawn on the server as SVG by
templates/_bar_chart.html: no script, no CDN. The queue and lines reports share it."""

from __future__ import annotations

from collections.abc import Sequence

BAR_WIDTH, TOP = 440, 24


def two_part_bars(names: Sequence[str], rows: Sequence[dict], *, good: str, bad: str, total: str,
                  label_width: int, row_height: int, bar_height: int) -> dict:
    """One bar per row: `good` then `bad` side by side, scaled so the largest `total` fills the width."""
    most = max((r[total] for r in rows), default=0) or 1
    bars = []
    for i, (name, r) in enumerate(zip(names, rows)):
        good_width = BAR_WIDTH * r[good] / most
        bars.append({"name": name, "y": TOP + i * row_height, "good": r[good], "bad": r[bad], "total": r[total],
                     "good_width": round(good_width, 1), "bad_x": round(label_width + good_width, 1),
                     "bad_width": round(BAR_WIDTH * r[bad] / most, 1)})
    return {"bars": bars, "width": label_width + BAR_WIDTH + 60, "height": TOP + row_height * len(rows) + 4,
            "label_width": label_width, "bar_height": bar_height, "text_y": bar_height - 4}
