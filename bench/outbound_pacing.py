"""`make bench`, predictive pacing (issue 22): agents' idle time between calls and the drop rate,
predictive against progressive, in simulated campaigns of 1,000 calls (tests/outbound_simulation.py,
driving crm/outbound/pacing.py as the dialer does) for a few answer rates and team sizes. One run each,
seeded: the numbers are the pacer's, not this machine's (how long it took is shown too).

Standalone: `python -m bench.outbound_pacing`."""

from __future__ import annotations

import time

from crm.outbound.model import PREDICTIVE, PROGRESSIVE
from crm.outbound.pacing import PacingPolicy
from tests.outbound_simulation import Result, World, simulate

ANSWER_RATES = (0.2, 0.35, 0.6)
TEAMS = (5, 20, 50)
CALLS = 1000


def bench_outbound_pacing(calls: int = CALLS) -> dict:
    runs = []
    started = time.perf_counter()
    for answer_rate in ANSWER_RATES:
        for agents in TEAMS:
            world = World(answer_rate, agents, calls=calls, seed=1)
            runs.append((world, simulate(PROGRESSIVE, world), simulate(PREDICTIVE, world)))
    return {"runs": runs, "seconds": time.perf_counter() - started, "limit": PacingPolicy().drop_limit}


def _idle(r: Result) -> str:
    return f"{r.median_idle:.0f} / {r.mean_idle:.0f} s, {100 * r.idle_share:.0f} %"


def outbound_pacing_rows(r: dict) -> list[tuple]:
    rows = [("Pacing: agents idle between calls, simulated", "predictive: median / mean, share",
             "progressive: same", f"drop < {r['limit']:g} % of answered", f"{len(r['runs'])} campaigns in "
             f"{r['seconds']:.1f} s")]
    for world, progressive, predictive in r["runs"]:
        rows.append((f"  {100 * world.answer_probability:.0f} % answer, {world.agents} agents", _idle(predictive),
                     _idle(progressive), f"drop {predictive.drop_rate:.1f} % (progressive "
                     f"{progressive.drop_rate:.1f} %)", f"{predictive.placed} calls, {predictive.answered} answered"))
    return rows


if __name__ == "__main__":
    for row in outbound_pacing_rows(bench_outbound_pacing()):
        print("| " + " | ".join(row) + " |")
