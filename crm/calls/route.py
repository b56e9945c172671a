"""The route a call took, as people read it:
"manager Ivanova did not answer in 20 s → queue Sales: answered by Petrov"."""

from __future__ import annotations

import json


def route_text(steps) -> str:
    if isinstance(steps, str):
        steps = json.loads(steps)
    parts = []
    for step in steps or []:
        target, result = step.get("target", "?"), step.get("result", "")
        parts.append(f"{target}: {result}" if step.get("kind") == "queue" else f"{target} {result}".strip())
    return " → ".join(parts)
