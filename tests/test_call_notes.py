"""A call's side notes (ari_app/inbound/call_notes.py), pure: whose pops close when a colleague
answers or the call leaves them unanswered, and the first dial logged once with where its time went."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from ari_app.inbound.call_notes import FirstDial, Pops

pytestmark = pytest.mark.unit


def test_the_others_rung_for_a_call_are_told_it_is_taken_when_one_answers():
    pops = Pops()
    assert pops.sends(7, "ringing") == [(7, "ringing")]
    assert pops.sends(9, "ringing") == [(9, "ringing")]
    assert pops.sends(8, "ringing") == [(8, "ringing")]
    assert pops.sends(9, "answered") == [(9, "answered"), (7, "taken"), (8, "taken")]
    assert pops.sends(9, "transferred") == [(9, "transferred")], "told once: the rung list is spent"
    assert pops.sends(4, "answered") == [(4, "answered")]


def test_the_users_a_call_rang_for_are_told_it_ended_once_when_it_leaves_them():
    pops = Pops()
    for user in (7, 9, 8):
        pops.sends(user, "ringing")
    # A ring-all queue's next round rings the same members: nobody's pop closes.
    assert pops.ended(keep=[7, 8, 9]) == []
    # The next round rings only 8 (a member-by-member queue): 7 and 9 are told, 8 rings on.
    assert pops.ended(keep=[8]) == [(7, "ended"), (9, "ended")]
    # The caller hangs up: the one still ringing is told, once.
    assert pops.ended() == [(8, "ended")]
    assert pops.ended() == []


def test_the_one_who_answered_is_not_told_the_call_ended():
    pops = Pops()
    pops.sends(7, "ringing")
    pops.sends(9, "ringing")
    assert pops.sends(9, "answered") == [(9, "answered"), (7, "taken")]
    assert pops.ended() == [], "the answer spent the rung list: nobody's pop says ended"
    # A transfer rings a colleague who does not answer, and the caller hangs up: only that colleague.
    pops.sends(4, "ringing")
    assert pops.ended() == [(4, "ended")]


def test_the_first_dial_is_logged_once_with_its_profile(caplog):
    entered = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.timezone.utc)
    first = FirstDial()
    first.received = entered + dt.timedelta(milliseconds=1)
    first.lookup_ms = 0.5
    with caplog.at_level(logging.INFO, logger="ari_app.inbound.call_notes"):
        first.dialled("chan-1", entered, entered + dt.timedelta(milliseconds=3))
        first.dialled("chan-1", entered, entered + dt.timedelta(milliseconds=9))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["channel chan-1: first dial 3.00 ms after StasisStart (event delivery 1.00, lookup 0.50, "
                     "rest 1.50 ms)"]
    FirstDial().dialled("chan-2", None, entered)  # a call the app did not see enter: nothing to say
