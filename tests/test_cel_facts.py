"""Call records from CEL, the pure part: CEL rows -> events (or garbage) -> one call's facts -> the
call log's row, and which calls the app already logged (crm/cel/events.py, facts.py, rows.py)."""

import datetime as dt
import json

import pytest

from crm.calls.route import route_text
from crm.cel.events import CelEvent, Garbage, event_of
from crm.cel.facts import CallFacts, Skipped, facts_of
from crm.cel.reconciler import parse_since
from crm.cel.rows import Directory, LoggedRow, call_row, directory_of, plan
from crm.i18n import using
from tests.cel_synthetic import T0, Cel

UTC = dt.timezone.utc
NOW = T0 + dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)
# Petrov (103) answers the default queue, Ivanova (102) has a SIP desk phone, Orlov (101) places calls;
# line "Sales" is the trunk's 74957654321.
DIRECTORY = directory_of([(3, "103", None, "Pavel Petrov"), (2, "102", "SIP/office-102", "Irina Ivanova"),
                          (1, "101", None, "Oleg Orlov"), (4, "104", "PJSIP/79161234567@trunk", "Mobile Only")],
                         [(7, "trunk", "+74957654321")], default_queue_id=9)


def events(cel: Cel) -> list[CelEvent]:
    parsed = [event_of(row, naive_zone=UTC, now=NOW) for row in cel.rows]
    assert all(isinstance(e, CelEvent) for e in parsed), parsed
    return parsed  # type: ignore[return-value]


def facts(cel: Cel, linkedid: str) -> CallFacts:
    result = facts_of(linkedid, events(cel))
    assert isinstance(result, CallFacts), result
    return result


def test_a_call_the_default_queue_put_through_is_answered_by_the_phone_not_by_the_dialplans_answer():
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0, ring=1.5, talk=4.0)
    f = facts(cel, caller.linkedid)
    assert (f.channel_id, f.line, f.caller_number, f.called_number) == (
        caller.uniqueid, "PJSIP/trunk", "84951234567", "74957654321")
    # The caller's channel is answered at once for the music; Petrov's phone 2 s in.
    assert f.started_at == T0 and f.answered_at == T0 + 2 * S and f.ended_at == T0 + 6 * S
    assert f.answered_by == "PJSIP/103" and f.hangup_cause == 16
    assert "pbxcrm-default-queue" in f.contexts
    row = call_row(f, DIRECTORY, "RU")
    assert (row.direction, row.status, row.operator_user_id, row.caller_user_id) == ("incoming", "answered", 3, None)
    assert (row.caller_normalized, row.called_normalized) == ("+74951234567", "+74957654321")
    assert row.line_id == 7 and row.queue_id == 9  # the line by trunk and DID (a leading + is the same number)
    with using("en"):
        assert route_text(row.route) == ("Asterisk logged the call itself: the CRM app did not handle it → "
                                          "default queue (dialplan): answered by Pavel Petrov after 2 s")


def test_a_caller_nobody_answered_is_a_missed_call_however_long_the_dialplan_played_music():
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0, phone=None, wait=25)
    f = facts(cel, caller.linkedid)
    assert f.answered_at is None and f.answered_by is None and f.ended_at == T0 + 25 * S
    row = call_row(f, DIRECTORY, "RU")
    assert (row.status, row.operator_user_id) == ("missed", None)
    with using("en"):
        assert route_text(row.route).endswith("default queue (dialplan): caller hung up after 25 s")


@pytest.mark.parametrize("number, direction", [("84951234567", "outgoing"), ("103", "internal")])
def test_a_call_placed_from_a_desk_phone_is_its_users_whatever_the_dialled_number(number, direction):
    cel = Cel()
    phone = cel.placed_call("101", number, T0)
    row = call_row(facts(cel, phone.linkedid), DIRECTORY, "RU")
    assert (row.direction, row.caller_user_id, row.operator_user_id, row.status) == (direction, 1, 1, "answered")
    assert row.line_id is None and row.queue_id is None
    assert row.answered_at == T0 + 4 * S  # when the far end picked up


def test_phones_are_known_by_their_users_dial_strings_and_extensions_but_not_by_a_trunk():
    assert DIRECTORY.phones["SIP/office-102"] == 2 and DIRECTORY.phones["PJSIP/102"] == 2
    assert DIRECTORY.phones["PJSIP/104"] == 4
    # A dial string through the trunk names the trunk's channels: every trunk call is not user 4's.
    assert "PJSIP/trunk" not in DIRECTORY.phones


@pytest.mark.parametrize("leg_id", [None, "1772442001.9"])
def test_a_leg_retired_into_its_callers_call_is_no_call_and_the_caller_is_answered_when_bridged(leg_id):
    cel = Cel()
    caller, leg = cel.app_call_with_leg("84951234567", T0, leg_id=leg_id)
    merged = facts_of(leg.uniqueid, events(cel))
    assert isinstance(merged, Skipped) and merged.nothing_to_log
    f = facts(cel, caller.linkedid)
    # The leg's ANSWER came under its own linkedid: in the caller's call it is seen entering the bridge.
    assert f.answered_at == T0 + 1.1 * S and f.answered_by == "PJSIP/103"
    assert f.ends[leg.uniqueid].ended_at == f.ended_at


def test_a_phone_the_app_rang_in_vain_is_no_call_of_its_own():
    cel = Cel()
    caller, _ = cel.app_call_with_leg("84951234567", T0)
    rung = cel.app_rang_unanswered(caller, T0 + S)
    skipped = facts_of(rung.linkedid, events(cel))
    assert isinstance(skipped, Skipped) and skipped.nothing_to_log and "the app made" in skipped.reason


def test_another_nodes_call_to_a_phone_of_this_node_is_left_to_that_node():
    """Issue 26: node A's app rang 7201 of node B through the inter-node trunk; node B's CEL has the leg
    (from endpoint node-a into pbxcrm-from-node), which node A logs as its call: nothing to log here."""
    cel = Cel()
    s = dt.timedelta(seconds=1)
    leg = cel.channel("PJSIP/node-a", "84951234567", exten="7201", context="pbxcrm-from-node", at=T0,
                      uniqueid="node-b-1700000000.7")
    cel.event("CHAN_START", T0, leg)
    phone = cel.channel("PJSIP/7201", "7201", linkedid=leg.linkedid, context="pbxcrm-phones", at=T0)
    cel.event("CHAN_START", T0, phone)
    cel.event("ANSWER", T0 + 2 * s, phone, appname="AppDial")
    cel.event("BRIDGE_ENTER", T0 + 2 * s, phone)
    cel.hangup(T0 + 5 * s, phone)
    cel.hangup(T0 + 5 * s, leg)
    skipped = facts_of(leg.linkedid, events(cel))
    assert isinstance(skipped, Skipped) and skipped.nothing_to_log and "another node" in skipped.reason
    # The same leg in a context of its own (a trunk's call) is a call: the context, not the name, decides.
    cel2 = Cel()
    trunk = cel2.channel("PJSIP/node-a", "84951234567", exten="74957654321", context="sandbox-from-trunk", at=T0)
    cel2.event("CHAN_START", T0, trunk)
    cel2.hangup(T0 + 5 * s, trunk)
    assert isinstance(facts_of(trunk.linkedid, events(cel2)), CallFacts)


def test_events_of_other_calls_and_the_order_they_come_in_do_not_matter():
    cel = Cel()
    first = cel.fallback_call("84951234567", T0)
    cel.fallback_call("84957777777", T0 + S, phone=None)
    mixed = list(reversed(events(cel)))
    assert facts_of(first.linkedid, mixed) == facts(cel, first.linkedid)


def _row(**changes):
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0)
    row = dict(cel.rows[0], **changes)
    return event_of(row, naive_zone=UTC, now=NOW), caller


@pytest.mark.parametrize("changes, reason", [
    ({"linkedid": ""}, "CHAN_START without a linkedid"),
    ({"linkedid": None}, "CHAN_START without a linkedid"),
    ({"uniqueid": " "}, "CHAN_START without a uniqueid"),
    ({"eventtype": "CHAN_EXPLODED"}, "unknown event type 'CHAN_EXPLODED'"),
    ({"eventtype": None}, "unknown event type ''"),
    ({"eventtime": None}, "CHAN_START without a usable event time (None)"),
    ({"eventtime": "yesterday"}, "CHAN_START without a usable event time ('yesterday')"),
    ({"eventtime": dt.datetime(2031, 1, 1)}, "CHAN_START stamped 2031-01-01T00:00:00+00:00, in the future: "
                                             "the clock jumped"),
    ({"id": None}, "no row id (None)"),
])
def test_garbage_rows_say_why(changes, reason):
    parsed, _ = _row(**changes)
    assert isinstance(parsed, Garbage) and parsed.reason == reason


@pytest.mark.parametrize("value", ["2026-03-02 09:00:00", T0.replace(tzinfo=None), T0, T0.timestamp()])
def test_event_times_are_read_from_each_kind_of_column(value):
    parsed, _ = _row(eventtime=value)
    assert isinstance(parsed, CelEvent) and parsed.time == T0


def test_a_call_whose_end_is_stamped_before_its_start_is_skipped_as_a_clock_jump():
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0)
    for row in cel.rows:
        if row["eventtype"] == "CHAN_END" and row["uniqueid"] == caller.uniqueid:
            row["eventtime"] -= dt.timedelta(hours=1)
    skipped = facts_of(caller.linkedid, events(cel))
    assert isinstance(skipped, Skipped) and not skipped.nothing_to_log and "the clock jumped" in skipped.reason


def test_a_call_without_the_start_of_its_first_channel_is_skipped():
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0)
    skipped = facts_of(caller.linkedid, events(cel)[1:])
    assert isinstance(skipped, Skipped) and not skipped.nothing_to_log and "no CHAN_START" in skipped.reason


def test_a_hangup_cause_in_a_broken_extra_is_no_cause():
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0, phone=None)
    for row in cel.rows:
        if row["eventtype"] == "HANGUP":
            row["extra"] = '{"hangupcause": "x"' if row["uniqueid"] == caller.uniqueid else "not json"
    assert facts(cel, caller.linkedid).hangup_cause is None


def test_a_busy_cause_makes_an_unanswered_call_busy():
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0, phone=None)
    for row in cel.rows:
        if row["eventtype"] == "HANGUP" and row["uniqueid"] == caller.uniqueid:
            row["extra"] = json.dumps({"hangupcause": 17})
    assert call_row(facts(cel, caller.linkedid), DIRECTORY, "RU").status == "busy"


def _logged(channel_id, linked_id=None, ended=True, answered_at=None):
    return LoggedRow(channel_id, linked_id, answered_at, T0 + 9 * S if ended else None, None)


def test_a_call_the_app_logged_by_any_of_its_channels_or_its_linkedid_gets_no_second_row():
    cel = Cel()
    calls = [cel.fallback_call(f"8495123456{i}", T0 + i * S) for i in range(4)]
    all_facts = [facts(cel, c.linkedid) for c in calls]
    leg_of_second = next(u for u in all_facts[1].ends if u != calls[1].uniqueid)
    logged = [_logged(calls[0].uniqueid), _logged("app-row", linked_id=calls[2].linkedid), _logged(leg_of_second)]
    result = plan(all_facts, logged, DIRECTORY, "RU")
    assert [r.channel_id for r in result.rows] == [calls[3].uniqueid]
    assert result.completions == []  # every logged row has its end


def test_a_row_the_app_left_unfinished_gets_its_end_and_answer_from_cel():
    cel = Cel()
    caller = cel.fallback_call("84951234567", T0, ring=1.0, talk=3.0)
    f = facts(cel, caller.linkedid)
    result = plan([f], [_logged(caller.uniqueid, caller.linkedid, ended=False)], DIRECTORY, "RU")
    assert result.rows == []
    [done] = result.completions
    assert (done.channel_id, done.ended_at, done.hangup_cause, done.status) == (caller.uniqueid, f.ended_at, 16,
                                                                                 "answered")
    assert done.answered_at == T0 + 1.5 * S and done.operator_user_id == 3
    # The app's own answer, when it wrote one, stays.
    own = T0 + 1.2 * S
    [kept] = plan([f], [_logged(caller.uniqueid, ended=False, answered_at=own)], DIRECTORY, "RU").completions
    assert kept.answered_at == own


def test_planning_again_over_the_rows_it_added_changes_nothing():
    cel = Cel()
    calls = [facts(cel, cel.fallback_call(f"8495123456{i}", T0 + i * S).linkedid) for i in range(3)]
    first = plan(calls, [], DIRECTORY, "RU")
    logged = [LoggedRow(r.channel_id, r.linked_id, r.answered_at, r.ended_at, r.operator_user_id) for r in first.rows]
    again = plan(calls, logged, DIRECTORY, "RU")
    assert len(first.rows) == 3 and again.rows == [] and again.completions == []


def test_an_empty_directory_still_logs_the_call():
    cel = Cel()
    caller = cel.fallback_call("anonymous", T0)
    row = call_row(facts(cel, caller.linkedid), Directory(), "RU")
    assert (row.direction, row.status, row.operator_user_id, row.caller_normalized) == (
        "incoming", "answered", None, None)
    with using("en"):
        assert "answered by PJSIP/103 after 1 s" in route_text(row.route)


def test_since_takes_ago_now_and_dates_on_the_call_centres_clock():
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now, "Europe/Moscow") == now - dt.timedelta(minutes=30)
    assert parse_since("2h", now, "Europe/Moscow") == now - dt.timedelta(hours=2)
    assert parse_since("7d", now, "Europe/Moscow") == now - dt.timedelta(days=7)
    assert parse_since("now", now, "Europe/Moscow") == now
    assert parse_since("2026-03-01", now, "Europe/Moscow") == dt.datetime(2026, 2, 28, 21, 0, tzinfo=UTC)
    assert parse_since("2026-03-01T09:30+00:00", now, "Europe/Moscow") == dt.datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_since("last tuesday", now, "Europe/Moscow")


def test_the_sandboxs_cel_configuration_gives_the_reader_what_it_reads():
    import re

    from crm.cel.events import COLUMNS
    from tests.processes import REPO

    conf = REPO / "asterisk-conf"
    table = (conf / "cel_pgsql.sql").read_text()
    assert set(COLUMNS) <= set(re.findall(r"^\s+(\w+)\s+(?:bigserial|text|timestamp|integer)", table, flags=re.M))
    events = re.search(r"^events = (.*)$", (conf / "cel.conf").read_text(), flags=re.M).group(1).split(",")
    assert {"CHAN_START", "CHAN_END", "ANSWER", "HANGUP", "BRIDGE_ENTER", "LINKEDID_END"} <= set(events)
    assert "load => cel_pgsql.so" in (conf / "modules.conf").read_text()
    assert re.search(r"^usegmtime = yes$", (conf / "cel_pgsql.conf").read_text(), flags=re.M)


def test_a_phones_feature_code_is_no_call_to_log():
    """*72 log in, *74 pause... (issue 18, ari_app/agents.py): the phone's channel is in CEL, no call."""
    cel = Cel()
    code = facts(cel, cel.placed_call("103", "*72", T0, talk=1.0).linkedid)
    number = facts(cel, cel.placed_call("103", "84951234567", T0 + S).linkedid)
    assert code.called_number == "*72"
    assert [r.channel_id for r in plan([code, number], [], DIRECTORY, "RU").rows] == [number.channel_id]


def test_a_call_asterisk_logged_on_a_node_says_which_node_it_came_in_on():
    """Issue 26: a node's Asterisk has systemname node-<name>; its uniqueids say the node."""
    from crm.calls.channels import node_of

    assert node_of("node-b-1733000000.12") == "b" and node_of("node-eu-2-1733000000.1") == "eu-2"
    assert node_of("1733000000.12") is None and node_of("node-1733000000.1") is None and node_of("pbxcrm-x") is None
    cel = Cel()
    caller = cel.channel("PJSIP/trunk", "84951234567", exten="74957654321", context="sandbox-from-trunk", at=T0,
                         uniqueid="node-b-1700000000.3")
    cel.event("CHAN_START", T0, caller)
    cel.hangup(T0 + 3 * dt.timedelta(seconds=1), caller)
    assert call_row(facts(cel, caller.linkedid), DIRECTORY, "RU").node == "b"
    single = Cel()
    plain = single.fallback_call("84951234567", T0, phone=None)
    assert call_row(facts(single, plain.linkedid), DIRECTORY, "RU").node is None
