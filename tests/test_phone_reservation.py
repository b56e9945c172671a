"""A phone rings for one call at a time (issue 12): reservations in ari_app.phone_states,
and whole call sessions racing for a queue's phones against a fake ARI."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

from ari_app.call_log import CallLogWriter
from ari_app.deps import SessionDeps
from ari_app.events import ChannelEntered
from ari_app.inbound.session import CallSession
from ari_app.media import CallMedia
from ari_app.phone_states import PhoneStates
from ari_app.registry import CallRegistry
from ari_app.ringing import Phone, Ringer
from crm.dialing.model import Dialing
from crm.queues.model import QueueMember, QueueSettings
from crm.routing.decide import ManagerRef, QueueRef, RoutingPolicy


class FakeAri:
    """Enough of ARI for call sessions: every phone looks free to GET /endpoints (after a
    moment, as over HTTP), answers `answer_after` seconds after it is rung and hangs up
    `talk` seconds later. Counts how many calls each phone has at once."""

    def __init__(self, *, answer_after: float = 0.02, talk: float = 0.05, answers: bool = True):
        self.registry: CallRegistry | None = None
        self.ringer: Ringer | None = None  # a rung phone's answer and hangup go to it, as ari_app/calls.py does
        self.answer_after, self.talk, self.answers = answer_after, talk, answers
        self.active: dict[str, set[str]] = {}
        self.most_at_once: dict[str, int] = {}
        self.rung: list[str] = []
        self._leg_phone: dict[str, str] = {}
        self._tasks: set[asyncio.Task] = set()

    async def get_endpoint(self, technology, resource):
        await asyncio.sleep(0.005)
        return {"state": "online", "channel_ids": []}

    async def originate(self, *, endpoint, channel_id, app_args, caller_id, timeout, originator=None, variables=None):
        await asyncio.sleep(0.002)
        extension = endpoint.split("/", 1)[1]
        self.rung.append(extension)
        self._leg_phone[channel_id] = extension
        calls = self.active.setdefault(extension, set())
        calls.add(channel_id)
        self.most_at_once[extension] = max(self.most_at_once.get(extension, 0), len(calls))
        task = asyncio.create_task(self._pick_up(channel_id) if self.answers else self._no_answer(channel_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"id": channel_id}

    async def _no_answer(self, channel_id):
        await asyncio.sleep(0.1)
        self._gone(channel_id)
        self.ringer.leg_gone(channel_id, 19)

    async def _pick_up(self, channel_id):
        await asyncio.sleep(self.answer_after)
        if not self.ringer.answered(channel_id):
            return
        await asyncio.sleep(self.talk)
        self._gone(channel_id)
        self.ringer.leg_gone(channel_id, 16)

    def _gone(self, channel_id):
        extension = self._leg_phone.get(channel_id)
        if extension:
            self.active[extension].discard(channel_id)

    async def hangup(self, channel_id):
        self._gone(channel_id)
        session = self.registry.get(channel_id) if self.registry else None
        if session is not None and channel_id == session.call.channel_id:
            session.channel_gone(channel_id, 16)

    async def play(self, channel_id, sound, lang=None):
        await self.hangup(channel_id)  # the caller hears "nobody is available" and hangs up

    async def _ok(self, *args, **kwargs):
        return None

    subscribe = ring = ring_stop = answer = start_moh = stop_moh = create_bridge = add_to_bridge = _ok
    destroy_bridge = continue_in_dialplan = _ok


class FakeCrm:
    loaded = True

    def __init__(self, queue: QueueSettings, facts=None):
        self._queue, self._facts = queue, facts

    async def lookup(self, key):
        return self._facts, None

    def centre_language(self):
        return None

    def policy(self):
        return RoutingPolicy(default_queue=QueueRef(self._queue.id, self._queue.name), manager_ring_seconds=2)

    def queue(self, queue_id):
        return self._queue if queue_id == self._queue.id else None

    def line(self, channel_line, called_number):
        return None  # no lines: every call takes the CRM's routing

    def dialing(self):
        return Dialing()  # no dial rules, every phone PJSIP/<extension>, nobody follows to a mobile

    def agent_states(self):
        return {}  # nobody used agent presence: every member is logged in


class NoLog(CallLogWriter):
    def __init__(self):
        pass

    def submit(self, channel_id, write, what):
        return None


_ids = itertools.count()


def _call(number: str) -> ChannelEntered:
    now = dt.datetime.now(dt.timezone.utc)
    return ChannelEntered(channel_id=f"caller-{next(_ids)}", linked_id=None, caller_number=number, caller_name="",
                          called_number="74957654321", line="PJSIP/trunk", started_at=now, args=("inbound",),
                          entered_at=now)


def _deps(ari: FakeAri, crm: FakeCrm) -> tuple[SessionDeps, PhoneStates]:
    states = PhoneStates(ari)
    media = CallMedia(ari)
    deps = SessionDeps(ari=ari, media=media, ringer=Ringer(media, states), crm=crm, call_log=NoLog(), registry=CallRegistry(),
                       region="RU", round_robin={})
    ari.registry, ari.ringer = deps.registry, deps.ringer
    return deps, states


def _queue(strategy: str, max_wait: int = 30) -> QueueSettings:
    members = tuple(QueueMember(i, f"Operator {ext}", ext) for i, ext in enumerate(("103", "104", "105"), 1))
    return QueueSettings(id=1, name="Default", strategy=strategy, ring_seconds=5, max_wait_seconds=max_wait,
                         is_default=True, members=members)


# ---- the reservation itself ----

async def test_a_reserved_phone_is_busy_for_every_other_call_until_released():
    states = PhoneStates(FakeAri())
    assert states.try_reserve("call-a", ["103", "104"]) == ["103", "104"]
    assert states.try_reserve("call-b", ["103", "104", "105"]) == ["105"]
    assert states.try_reserve("call-a", ["103"]) == ["103"]  # its own: still held
    assert await states.problem("103", "call-b") == "busy on another call"
    states.release("call-a", ["103"])
    assert states.try_reserve("call-b", ["103", "104"]) == ["103"]
    states.release("call-a")
    assert states.holder("104") is None and states.holder("103") == "call-b"
    states.release("call-a")  # another call's release never frees call-b's phone
    assert states.holder("103") == "call-b"


async def test_reserve_respects_a_limit_and_known_busy_states():
    states = PhoneStates(FakeAri())
    await states.on_device_state_changed({"device_state": {"name": "PJSIP/103", "state": "INUSE"}})
    assert states.try_reserve("call-a", ["103", "104", "105"], limit=1) == ["104"]


async def test_a_reconnect_frees_phones_of_calls_asterisk_no_longer_has():
    states = PhoneStates(FakeAri())
    states.try_reserve("gone", ["103"])
    states.try_reserve("alive", ["104"])
    cutoff = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert states.release_missing({"alive"}, cutoff) == ["103"]
    assert states.holder("103") is None and states.holder("104") == "alive"
    # A call that started after the channel list was taken keeps its phone.
    states.try_reserve("new", ["105"])
    assert states.release_missing(set(), cutoff - dt.timedelta(seconds=5)) == []


# ---- whole sessions, at once ----

async def _run_together(strategy: str, callers: int = 20, **ari_kwargs) -> tuple[FakeAri, list[CallSession], PhoneStates]:
    ari = FakeAri(**ari_kwargs)
    deps, states = _deps(ari, FakeCrm(_queue(strategy)))
    sessions = [CallSession(_call(f"8903000{i:04d}"), deps) for i in range(callers)]
    await asyncio.wait_for(asyncio.gather(*(s.run() for s in sessions)), 20)
    return ari, sessions, states


async def test_twenty_callers_at_once_never_ring_one_phone_twice_ring_all():
    ari, sessions, states = await _run_together("ringall")
    assert ari.most_at_once == {"103": 1, "104": 1, "105": 1}, ari.most_at_once
    # Every caller was answered, by exactly one phone.
    assert all(s.partner is not None for s in sessions)
    assert all(states.holder(ext) is None for ext in ("103", "104", "105"))


async def test_twenty_callers_at_once_never_ring_one_phone_twice_round_robin():
    ari, sessions, states = await _run_together("roundrobin")
    assert max(ari.most_at_once.values()) == 1, ari.most_at_once
    assert set(ari.most_at_once) == {"103", "104", "105"}
    assert all(s.partner is not None for s in sessions)
    assert all(states.holder(ext) is None for ext in ("103", "104", "105"))


async def test_phones_nobody_answers_are_released_for_the_next_caller():
    ari = FakeAri(answers=False)
    queue = QueueSettings(id=1, name="Default", strategy="ringall", ring_seconds=2, max_wait_seconds=2,
                          members=(QueueMember(1, "Petrov", "103"),))
    deps, states = _deps(ari, FakeCrm(queue))
    sessions = [CallSession(_call("89030000001"), deps), CallSession(_call("89030000002"), deps)]
    await asyncio.wait_for(asyncio.gather(*(s.run() for s in sessions)), 20)
    assert ari.most_at_once == {"103": 1}
    # Both callers had the phone rung for them in turn, as it came free.
    assert len(ari.rung) >= 4
    assert states.holder("103") is None


async def test_a_managers_phone_ringing_for_one_call_is_busy_for_the_next():
    ari = FakeAri(answer_after=0.2, talk=0.2)
    manager = ManagerRef(7, "Irina Ivanova", "102", True)
    from crm.routing.decide import CallerFacts
    facts = CallerFacts(counterparty_id=1, display_name="Sokolov Ivan", manager=manager)
    queue = QueueSettings(id=1, name="Default", strategy="ringall", ring_seconds=2, max_wait_seconds=5,
                          members=(QueueMember(2, "Pavel Petrov", "103"),))
    deps, states = _deps(ari, FakeCrm(queue, facts))
    first, second = CallSession(_call("84951234567"), deps), CallSession(_call("84951234567"), deps)
    await asyncio.wait_for(asyncio.gather(first.run(), second.run()), 20)
    assert ari.most_at_once == {"102": 1, "103": 1}
    partners = sorted(s.partner.phone.extension for s in (first, second))
    assert partners == ["102", "103"]


async def test_a_ringer_releases_what_it_did_not_win_and_keeps_the_winner():
    ari = FakeAri(answer_after=0.01, talk=5)
    deps, states = _deps(ari, FakeCrm(_queue("ringall")))
    session = CallSession(_call("89030000001"), deps)
    phones = [Phone(1, "a", "103"), Phone(2, "b", "104")]
    assert deps.ringer.try_reserve(session.call.channel_id, phones) == phones
    result = await deps.ringer.ring(caller_channel=session.call.channel_id, caller_id="x", phones=phones,
                                    ring_seconds=2, caller_gone=asyncio.Event(), register=session._register_leg)
    assert result.winner is not None
    loser = next(p for p in ("103", "104") if p != result.winner.phone.extension)
    assert states.holder(result.winner.phone.extension) == session.call.channel_id
    assert states.holder(loser) is None


async def test_resync_after_a_reconnect_frees_phones_of_calls_that_ended_meanwhile():
    from types import SimpleNamespace

    from ari_app.resync import resync

    ari = FakeAri()
    deps, states = _deps(ari, FakeCrm(_queue("ringall")))
    states.try_reserve("caller-gone", ["103"])
    states.try_reserve("caller-alive", ["104"])

    async def list_channels():
        return [{"id": "caller-alive", "creationtime": None, "dialplan": {}}]

    async def list_bridges():
        return []

    ari.list_channels, ari.list_bridges, ari.app = list_channels, list_bridges, "pbxcrm"
    await resync(ari, SimpleNamespace(d=deps), set(), dt.datetime.now(dt.timezone.utc))
    assert states.holder("103") is None
    assert states.holder("104") == "caller-alive"
