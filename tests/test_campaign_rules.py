"""The dialer's pure decisions (issue 22): calling hours in the called person's zone, and an attempt's
states and the outcome each gives when the client's channel ends."""

from __future__ import annotations

import datetime as dt

import pytest

from ari_app.campaigns.states import Connecting, Detecting, Machine, Ringing, Talking, WrongMove
from crm.outbound import model
from crm.outbound.window import inside, next_opening

UTC = dt.timezone.utc


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 1, hour, minute, tzinfo=UTC)


def test_calling_hours_are_the_called_persons_local_hours():
    # 07:30 UTC is 10:30 in Moscow (inside 9-21) and 23:30 the day before in Los Angeles.
    assert inside(at(7, 30), "Europe/Moscow", "UTC", 9, 21)
    assert not inside(at(7, 30), "America/Los_Angeles", "UTC", 9, 21)
    # Los Angeles opens at 09:00 local on 1 December: 17:00 UTC.
    assert next_opening(at(7, 30), "America/Los_Angeles", "UTC", 9, 21) == at(17)
    # After the window closes it opens the next day.
    assert next_opening(at(19), "Europe/Moscow", "UTC", 9, 21) == at(6) + dt.timedelta(days=1)
    assert inside(at(23, 59), "UTC", "UTC", 0, 24)


def test_a_number_without_a_known_zone_uses_the_centres():
    assert inside(at(7, 30), "", "Europe/Moscow", 9, 21)
    assert inside(at(7, 30), "Mars/Olympus", "Europe/Moscow", 9, 21)
    assert not inside(at(7, 30), "Not/AZone", "America/Los_Angeles", 9, 21)


def test_an_unanswered_attempt_ends_by_its_cause():
    assert Ringing().ended(17) == model.BUSY
    assert Ringing().ended(19) == model.NO_ANSWER
    assert Ringing().ended(34) == model.FAILED


def test_the_answered_attempt_moves_through_amd_to_an_agent():
    assert isinstance(Ringing().answered(amd=False), Connecting)
    detecting = Ringing().answered(amd=True)
    assert isinstance(detecting, Detecting)
    assert isinstance(detecting.verdict("MACHINE", "hangup"), Machine)
    assert isinstance(detecting.verdict("MACHINE", "agent"), Connecting)  # the campaign gives machines to agents
    assert isinstance(detecting.verdict("HUMAN", "hangup"), Connecting)
    assert isinstance(detecting.verdict("NOTSURE", "hangup"), Connecting)
    assert Machine().ended(16) == model.MACHINE
    assert detecting.ended(16) == model.NO_ANSWER  # hung up during the greeting
    connecting = Connecting()
    assert isinstance(connecting.agent_answered(), Talking) and Talking().ended(16) == model.ANSWERED
    assert connecting.no_agent().ended(16) == model.DROPPED
    assert connecting.ended(16) == model.DROPPED  # the person left before an agent took it


def test_late_or_repeated_events_are_refused():
    with pytest.raises(WrongMove):
        Talking().answered(amd=False)
    with pytest.raises(WrongMove):
        Ringing().verdict("HUMAN", "hangup")
    with pytest.raises(WrongMove):
        Ringing().agent_answered()
