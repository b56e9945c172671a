"""Agent presence as a pure state (crm/agents/state.py): transitions and who a queue may ring."""

import datetime as dt

import pytest

from crm.agents.state import (
    AgentState,
    NotAllowed,
    apply,
    feature_code,
    moved,
    pause_reason_by_number,
    ringable,
)

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
SALES, SUPPORT = 1, 2


def test_an_agent_nobody_set_is_logged_in_to_every_queue_and_rung():
    assert AgentState(7).status(NOW) == "available"
    assert ringable(SALES, [7, 8], {}, NOW) == [7, 8]


def test_pause_and_resume_store_one_event_each_and_decide_who_is_rung():
    paused = apply(AgentState(7), "pause", reason_id=3)
    assert paused.events == (("pause", None, 3),)
    assert paused.state.status(NOW) == "paused" and paused.state.reason_id == 3
    assert ringable(SALES, [7, 8], {7: paused.state}, NOW) == [8]
    resumed = apply(paused.state, "resume")
    assert resumed.events == (("resume", None, None),) and resumed.state.reason_id is None
    assert ringable(SALES, [7, 8], {7: resumed.state}, NOW) == [7, 8]


def test_doing_what_is_done_stores_nothing_but_a_new_pause_reason_is_stored():
    state = AgentState(7)
    assert apply(state, "login").events == ()
    paused = apply(state, "pause", reason_id=1).state
    assert apply(paused, "pause", reason_id=1).events == ()
    assert apply(paused, "pause", reason_id=2).events == (("pause", None, 2),)


def test_a_logged_out_agent_cannot_pause_or_resume_and_an_unpaused_one_cannot_resume():
    out = apply(AgentState(7), "logout").state
    with pytest.raises(NotAllowed) as e:
        apply(out, "pause", reason_id=1)
    assert e.value.why == "not_logged_in"
    with pytest.raises(NotAllowed) as e:
        apply(AgentState(7), "resume")
    assert e.value.why == "not_paused"


def test_logging_out_while_paused_ends_the_pause_first():
    paused = apply(AgentState(7), "pause", reason_id=1).state
    out = apply(paused, "logout")
    assert out.events == (("resume", None, None), ("logout", None, None))
    assert out.state.status(NOW) == "logged_out" and not out.state.paused
    assert ringable(SALES, [7], {7: out.state}, NOW) == []
    back = apply(out.state, "login")
    assert back.events == (("login", None, None),) and ringable(SALES, [7], {7: back.state}, NOW) == [7]


def test_an_agent_logs_out_of_one_queue_and_stays_in_the_others():
    member_of = {SALES, SUPPORT}
    out_of_sales = apply(AgentState(7), "logout", queue_id=SALES, member_of=member_of)
    assert out_of_sales.events == (("logout", SALES, None),)
    states = {7: out_of_sales.state}
    assert ringable(SALES, [7], states, NOW) == [] and ringable(SUPPORT, [7], states, NOW) == [7]
    back = apply(out_of_sales.state, "login", queue_id=SALES, member_of=member_of).state
    assert ringable(SALES, [7], {7: back}, NOW) == [7]
    # Logged out of everything, then in to one queue only.
    only_support = apply(apply(AgentState(7), "logout").state, "login", queue_id=SUPPORT, member_of=member_of).state
    assert ringable(SALES, [7], {7: only_support}, NOW) == []
    assert ringable(SUPPORT, [7], {7: only_support}, NOW) == [7]
    # Logging in to all queues clears the one-by-one logouts.
    assert apply(only_support, "login").state.queues_out == frozenset()


def test_a_queue_the_agent_is_not_in_is_refused():
    with pytest.raises(NotAllowed) as e:
        apply(AgentState(7), "logout", queue_id=SUPPORT, member_of={SALES})
    assert e.value.why == "no_such_queue"
    with pytest.raises(NotAllowed):
        apply(AgentState(7), "pause", queue_id=SALES, member_of={SALES})  # pauses are for all queues


def test_wrap_up_skips_the_agent_until_it_ends_and_busy_phones_are_skipped_too():
    wrapping = AgentState(7, wrapup_until=NOW + dt.timedelta(seconds=3))
    assert wrapping.status(NOW) == "wrapup"
    assert ringable(SALES, [7, 8, 9], {7: wrapping}, NOW, busy={9}) == [8]
    later = NOW + dt.timedelta(seconds=3)
    assert wrapping.status(later) == "available"
    assert ringable(SALES, [7, 8, 9], {7: wrapping}, later) == [7, 8, 9]


def test_an_agent_ends_its_wrap_up_early_and_is_rung_at_once():
    wrapping = AgentState(7, wrapup_until=NOW + dt.timedelta(seconds=30))
    done = apply(wrapping, "end_wrapup", now=NOW)
    assert done.events == (("wrapup_end", None, None),) and done.state.wrapup_until is None
    assert done.state.status(NOW) == "available" and ringable(SALES, [7], {7: done.state}, NOW) == [7]
    # Only a wrap-up that still runs ends: over already, or none at all, is refused.
    for state, now in ((wrapping, NOW + dt.timedelta(seconds=30)), (AgentState(7), NOW), (wrapping, None)):
        with pytest.raises(NotAllowed) as e:
            apply(state, "end_wrapup", now=now)
        assert e.value.why == "not_in_wrapup"
    with pytest.raises(NotAllowed):
        apply(wrapping, "end_wrapup", now=NOW, queue_id=SALES, member_of={SALES})  # for all queues


def test_the_app_forgets_its_note_of_a_wrap_up_ended_early_but_not_of_a_later_one():
    import json

    from crm.routing.view import CrmView

    view = CrmView(None, 300)  # type: ignore[arg-type]  # no database: only the notes are used
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=60)
    view.note_wrapup(7, until)
    assert view.agent_states()[7].wrapup_until == until
    later = json.dumps({"user_id": 7, "event": "wrapup_end", "until": (until - dt.timedelta(seconds=1)).isoformat()})
    view.agent_changed(later)  # an earlier wrap-up's end: this one goes on
    assert view.agent_states()[7].wrapup_until == until
    view.agent_changed("not json")
    view.agent_changed(json.dumps({"user_id": 7, "event": "pause"}))
    assert 7 in view.agent_states()
    view.agent_changed(json.dumps({"user_id": 7, "event": "wrapup_end", "until": until.isoformat()}))
    assert 7 not in view.agent_states()


def test_the_members_order_is_kept():
    assert ringable(SALES, [9, 3, 5], {3: AgentState(3, paused=True)}, NOW) == [9, 5]


@pytest.mark.parametrize("digits, expected", [
    ("*72", ("login", None)), ("*73", ("logout", None)), ("*74", ("pause", None)), ("*742", ("pause", 2)),
    ("*7412", ("pause", 12)), ("*75", ("resume", None)),
    ("*76", ("end_wrapup", None)), ("*77", None), ("*761", None), ("*721", None), ("*74x", None), ("*74123", None), ("72", None), ("", None),
])
def test_feature_codes(digits, expected):
    assert feature_code(digits) == expected


def test_the_admin_moves_a_reason_up_or_down_within_the_list():
    assert moved([11, 12, 13], 12, -1) == [12, 11, 13]
    assert moved([11, 12, 13], 12, 1) == [11, 13, 12]
    assert moved([11, 12, 13], 11, -1) == [11, 12, 13], "the first stays first"
    assert moved([11, 12, 13], 13, 5) == [11, 12, 13]
    assert moved([11, 12, 13], 13, -100) == [13, 11, 12]
    with pytest.raises(ValueError):
        moved([11, 12], 13, 1)


def test_a_pause_reason_by_its_number_in_the_list():
    assert pause_reason_by_number([11, 12, 13], 1) == 11
    assert pause_reason_by_number([11, 12, 13], 3) == 13
    assert pause_reason_by_number([11, 12, 13], 4) is None
    assert pause_reason_by_number([11, 12, 13], 0) is None
