"""Agent sessions from presence events (issue 18): logged-in and paused time, clipped to the period."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.reports.agent_sessions import Event, sessions

pytestmark = pytest.mark.unit
T0 = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.timezone.utc)
START, END = T0, T0 + dt.timedelta(days=1)
FAR = T0 + dt.timedelta(days=30)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_login_to_logout_with_pauses_by_reason():
    s = sessions([Event(at(0), "login"), Event(at(60), "pause", 1), Event(at(90), "resume"),
                  Event(at(120), "pause", 2), Event(at(130), "resume"), Event(at(180), "logout")], START, END, FAR)
    assert s.logged_in == 180 * 60
    assert s.paused == {1: 30 * 60, 2: 10 * 60} and s.paused_total == 40 * 60


def test_sessions_are_clipped_to_the_period_and_an_open_one_counts_to_now():
    events = [Event(at(-60), "login"), Event(at(-30), "pause", 1), Event(at(15), "resume")]
    s = sessions(events, START, END, at(45))
    assert s.logged_in == 45 * 60, "from the period's start up to now"
    assert s.paused == {1: 15 * 60}
    assert sessions(events, START, END, FAR).logged_in == 24 * 3600, "still logged in: up to the period's end"
    assert sessions([Event(at(-120), "login"), Event(at(-60), "logout")], START, END, FAR).logged_in == 0


def test_a_logout_ends_a_pause_and_events_out_of_order_or_repeated_are_handled():
    s = sessions([Event(at(50), "logout"), Event(at(10), "pause", None), Event(at(0), "login"),
                  Event(at(5), "login"), Event(at(60), "resume"), Event(at(70), "pause", 3)], START, END, FAR)
    assert s.logged_in == 50 * 60
    assert s.paused == {None: 40 * 60}, "the pause after logging out does not count"


def test_a_pause_with_another_reason_switches_the_reason():
    s = sessions([Event(at(0), "login"), Event(at(10), "pause", 1), Event(at(20), "pause", 2),
                  Event(at(25), "logout")], START, END, FAR)
    assert s.paused == {1: 600, 2: 300}
