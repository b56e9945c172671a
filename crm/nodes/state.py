"""A PBX node's state from its last word (issue 26). Pure: no I/O.

up      its app speaks and its Asterisk answers;
down    its app speaks but says its Asterisk does not answer (its ARI websocket is lost);
silent  nothing heard from its app for more than SILENT_AFTER_HEARTBEATS heartbeats: the app is not
        running or cannot reach the database. Its last word is stale then, whatever it said, so
        silence wins over what the row says.

`now` is the database's clock, as seen_at is: the web's and the nodes' clocks may differ.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm.nodes import HEARTBEAT_SECONDS, SILENT_AFTER_HEARTBEATS

UP, DOWN, SILENT = "up", "down", "silent"
STATES = (UP, DOWN, SILENT)
# Why a node is not up (in words: crm/labels.py NODE_REASON).
ASTERISK_LOST, APP_SILENT = "asterisk_lost", "app_silent"


@dataclass(frozen=True)
class Policy:
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    silent_after_heartbeats: int = SILENT_AFTER_HEARTBEATS

    @property
    def silent_after(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.heartbeat_seconds * self.silent_after_heartbeats)


POLICY = Policy()


@dataclass(frozen=True)
class Facts:
    """A pbx_nodes row: what the node last said of itself."""

    name: str
    ari_url: str
    connected: bool
    seen_at: dt.datetime
    up_since: dt.datetime | None
    down_since: dt.datetime | None
    calls_now: int


@dataclass(frozen=True)
class NodeState:
    name: str
    state: str  # one of STATES
    reason: str  # "" when up, else ASTERISK_LOST or APP_SILENT
    since: dt.datetime  # when it entered the state
    seconds: float  # how long it has been so
    ari_url: str
    calls_now: int
    seen_at: dt.datetime  # its last word
    word_age: float  # seconds since its last word

    @property
    def is_up(self) -> bool:
        return self.state == UP


def _age(now: dt.datetime, moment: dt.datetime) -> float:
    return round(max(0.0, (now - moment).total_seconds()), 1)


def node_state(facts: Facts, now: dt.datetime, policy: Policy = POLICY) -> NodeState:
    if now - facts.seen_at > policy.silent_after:
        # Silent since its last word: from then on nothing is known of it.
        state, reason, since = SILENT, APP_SILENT, facts.seen_at
    elif facts.connected:
        state, reason, since = UP, "", facts.up_since or facts.seen_at
    else:
        state, reason, since = DOWN, ASTERISK_LOST, facts.down_since or facts.seen_at
    return NodeState(name=facts.name, state=state, reason=reason, since=since, seconds=_age(now, since),
                     ari_url=facts.ari_url, calls_now=facts.calls_now, seen_at=facts.seen_at,
                     word_age=_age(now, facts.seen_at))


def node_states(rows: list[Facts], now: dt.datetime, policy: Policy = POLICY) -> list[NodeState]:
    """Every node's state, by name."""
    return sorted((node_state(f, now, policy) for f in rows), key=lambda s: s.name)


def not_up(states: list[NodeState]) -> list[NodeState]:
    """The nodes the wallboard's banner names: down or silent, longest first."""
    return sorted((s for s in states if not s.is_up), key=lambda s: (s.since, s.name))
