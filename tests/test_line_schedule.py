"""Business hours and a line's route now (crm/lines/): pure functions, no database, no PBX."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm import i18n
from crm.calls.route import route_text
from crm.errors import ValidationError
from crm.lines.decide import line_plan, route_now
from crm.lines.model import Line, LineInput, Route
from crm.lines.schedule import (
    Holiday,
    Interval,
    Schedule,
    ScheduleTextError,
    holidays_text,
    parse_holidays,
    parse_intervals,
    state_at,
)
from crm.routing.decide import ManagerRef, QueueRef, RoutingPolicy

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.timezone.utc


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def week(**days: str) -> tuple[tuple[Interval, ...], ...]:
    """week(mon="09:00-18:00", fri="22:00-02:00")"""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return tuple(parse_intervals(days.get(name, "")) for name in names)


def at(zone, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def is_open(schedule: Schedule, now: dt.datetime) -> bool:
    return state_at(schedule, now).open


# 2025-03-03 is a Monday.
OFFICE = Schedule(week(mon="09:00-13:00, 14:00-18:00", tue="09:00-18:00", fri="10:00-16:00, 22:00-02:00"))


@pytest.mark.parametrize("when, expected", [
    ((2025, 3, 3, 8, 59), False),
    ((2025, 3, 3, 9, 0), True),  # opening time is open
    ((2025, 3, 3, 12, 59), True),
    ((2025, 3, 3, 13, 30), False),  # the lunch break between two intervals
    ((2025, 3, 3, 17, 59), True),
    ((2025, 3, 3, 18, 0), False),  # closing time is closed
    ((2025, 3, 5, 12, 0), False),  # Wednesday has no hours
    ((2025, 3, 7, 21, 59), False),
    ((2025, 3, 7, 23, 0), True),  # Friday night, 22:00-02:00
    ((2025, 3, 8, 1, 59), True),  # ... still open after midnight, on Saturday
    ((2025, 3, 8, 2, 0), False),
    ((2025, 3, 9, 1, 0), False),  # Saturday has no night interval of its own
])
def test_weekly_intervals_several_a_day_and_past_midnight(when, expected):
    assert is_open(OFFICE, at(MOSCOW, *when)) is expected


def test_whole_day_and_until_midnight():
    schedule = Schedule(week(mon="00:00-00:00", tue="18:00-24:00"))
    assert is_open(schedule, at(MOSCOW, 2025, 3, 3, 0, 0)) and is_open(schedule, at(MOSCOW, 2025, 3, 3, 23, 59))
    assert not is_open(schedule, at(MOSCOW, 2025, 3, 4, 0, 0)), "the whole day ends at midnight"
    assert is_open(schedule, at(MOSCOW, 2025, 3, 4, 23, 59))
    assert not is_open(schedule, at(MOSCOW, 2025, 3, 5, 0, 0)), "24:00 is the end of the day, not of the next"


def test_the_wall_clock_in_the_call_centres_zone_counts_not_utc():
    # 06:30 UTC is 09:30 in Moscow (UTC+3): open; the same instant read as UTC would be closed.
    now = dt.datetime(2025, 3, 3, 6, 30, tzinfo=UTC)
    assert is_open(OFFICE, now.astimezone(MOSCOW))
    assert not is_open(OFFICE, now)
    with pytest.raises(ValueError):
        state_at(OFFICE, dt.datetime(2025, 3, 3, 10, 0))  # naive: whose 10:00?


def test_a_schedule_keeps_its_wall_clock_hours_across_the_spring_dst_change():
    sunday = Schedule(week(sat="22:00-06:00", sun="09:00-18:00"))
    # 2024-03-31: Berlin goes from UTC+1 to UTC+2 at 02:00 local.
    assert is_open(sunday, dt.datetime(2024, 3, 31, 7, 30, tzinfo=UTC).astimezone(BERLIN))  # 09:30 CEST
    assert not is_open(sunday, dt.datetime(2024, 3, 31, 6, 30, tzinfo=UTC).astimezone(BERLIN))  # 08:30 CEST
    assert not is_open(sunday, dt.datetime(2024, 3, 31, 16, 30, tzinfo=UTC).astimezone(BERLIN))  # 18:30 CEST
    # The night interval, shortened by the lost hour, still ends at 06:00 on the wall clock.
    assert is_open(sunday, dt.datetime(2024, 3, 31, 3, 59, tzinfo=UTC).astimezone(BERLIN))  # 05:59 CEST
    assert not is_open(sunday, dt.datetime(2024, 3, 31, 4, 0, tzinfo=UTC).astimezone(BERLIN))  # 06:00 CEST


def test_the_repeated_hour_of_the_autumn_dst_change_is_open_both_times():
    night = Schedule(week(sun="02:00-03:00"))
    # 2024-10-27: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    first = dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC).astimezone(BERLIN)
    second = dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC).astimezone(BERLIN)
    assert first.time() == second.time() == t("02:30") and first.utcoffset() != second.utcoffset()
    assert is_open(night, first) and is_open(night, second)
    assert not is_open(night, dt.datetime(2024, 10, 27, 2, 0, tzinfo=UTC).astimezone(BERLIN))  # 03:00 CET


def test_holidays_close_the_day_or_open_it_in_their_own_hours():
    holidays = parse_holidays("2025-03-03 Women's day (moved)\n2025-03-08 10:00-15:00 Women's Day\n"
                              "2025-03-07 12:00-14:00 Short Friday")
    schedule = Schedule(OFFICE.weekly, holidays)
    monday = state_at(schedule, at(MOSCOW, 2025, 3, 3, 10, 0))
    assert not monday.open and monday.holiday is not None and monday.holiday.name == "Women's day (moved)"
    assert is_open(schedule, at(MOSCOW, 2025, 3, 4, 10, 0)), "the next day keeps its weekly hours"
    # A Saturday, closed by the week, open on its holiday's own hours.
    assert is_open(schedule, at(MOSCOW, 2025, 3, 8, 11, 0)) and not is_open(schedule, at(MOSCOW, 2025, 3, 8, 16, 0))
    # A holiday's hours replace the weekday's: Friday's night interval is gone that day.
    assert is_open(schedule, at(MOSCOW, 2025, 3, 7, 13, 0))
    assert not is_open(schedule, at(MOSCOW, 2025, 3, 7, 15, 0)) and not is_open(schedule, at(MOSCOW, 2025, 3, 7, 23, 0))


def test_a_night_interval_runs_on_into_a_holiday():
    """An interval belongs to the day it opens on."""
    schedule = Schedule(OFFICE.weekly, parse_holidays("2025-03-08 Women's Day"))
    assert is_open(schedule, at(MOSCOW, 2025, 3, 8, 1, 0))
    assert not is_open(schedule, at(MOSCOW, 2025, 3, 8, 3, 0))


# ---- the admin's text ----

def test_intervals_are_read_from_text_and_refused_with_the_text_that_is_wrong():
    assert parse_intervals(" 14:00-18:00;9:00 - 13:00 ,") == (Interval(t("09:00"), t("13:00")),
                                                              Interval(t("14:00"), t("18:00")))
    assert parse_intervals("") == ()
    assert parse_intervals("18:00–24:00") == (Interval(t("18:00"), t("00:00")),)
    for bad in ("9-18", "25:00-26:00", "09:00-18:60", "09:00", "24:00-02:00"):
        with pytest.raises(ScheduleTextError, match="is not a time range"):
            parse_intervals(bad)


def test_holidays_are_read_line_by_line_and_written_back_the_same_way():
    text = "2025-12-31 10:00-15:00, 16:00 - 18:00 New Year's Eve, short\n\n2025-01-01 New Year\n2025-05-09"
    holidays = parse_holidays(text)
    assert list(holidays) == [dt.date(2025, 1, 1), dt.date(2025, 5, 9), dt.date(2025, 12, 31)]
    eve = holidays[dt.date(2025, 12, 31)]
    assert eve == Holiday(dt.date(2025, 12, 31), "New Year's Eve, short",
                          (Interval(t("10:00"), t("15:00")), Interval(t("16:00"), t("18:00"))))
    assert holidays[dt.date(2025, 5, 9)] == Holiday(dt.date(2025, 5, 9))
    assert parse_holidays(holidays_text(holidays.values())) == holidays
    with pytest.raises(ScheduleTextError, match="line 2: '2025-02-30' is not a date"):
        parse_holidays("2025-01-01\n2025-02-30 Nope")
    with pytest.raises(ScheduleTextError, match="line 2: 2025-01-01 is listed twice"):
        parse_holidays("2025-01-01\n2025-01-01 again")
    with pytest.raises(ScheduleTextError, match="line 1: '10:00-1500' is not a time range"):
        parse_holidays("2025-01-01 10:00-15:00, 10:00-1500")


def test_a_lines_fields_are_checked_and_tidied():
    line = LineInput(name=" Promo ", trunk="PJSIP/trunk", did="+7 (495) 777-00-00", route_kind="queue",
                     route_queue_id=5, route_user_id=9).cleaned()
    assert (line.name, line.trunk, line.did, line.route_queue_id, line.route_user_id) == (
        "Promo", "trunk", "+74957770000", 5, None)
    with pytest.raises(ValidationError) as e:
        LineInput(name="", trunk="bad trunk", did="12a", language="de", route_kind="fax",
                  after_hours_kind="user").cleaned()
    assert set(e.value.errors) == {"name", "trunk", "did", "language", "route_kind", "after_hours_user_id"}


# ---- the route now, and the chain it makes ----

SALES = QueueRef(7, "Sales")
DEFAULT = QueueRef(1, "Default")
POLICY = RoutingPolicy(default_queue=DEFAULT, manager_ring_seconds=15)
LIVE = {1: "Default", 7: "Sales"}
IVANOVA = ManagerRef(3, "Irina Ivanova", "102", True)


def promo(**kw) -> Line:
    fields = dict(id=1, name="Promo", trunk="trunk", did="74957770000", route=Route("queue", queue=SALES),
                  after_hours=Route("hangup"), hours=Schedule(week(mon="09:00-18:00"), parse_holidays("2025-03-10 Spring")))
    return Line(**{**fields, **kw})


def test_in_hours_the_line_routes_its_way_and_out_of_hours_the_after_hours_way():
    line = promo(after_hours=Route("user", user=IVANOVA))
    assert route_now(line, at(MOSCOW, 2025, 3, 3, 10, 0)).route == Route("queue", queue=SALES)
    closed = route_now(line, at(MOSCOW, 2025, 3, 3, 19, 0))
    assert (closed.open, closed.route, closed.holiday) == (False, Route("user", user=IVANOVA), None)
    assert route_now(line, at(MOSCOW, 2025, 3, 10, 10, 0)).holiday == "Spring"
    always = promo(hours=None)
    assert route_now(always, at(MOSCOW, 2025, 3, 9, 3, 0)).open, "a line without business hours is always open"


def test_a_queue_route_rings_the_queue_then_the_default_queue():
    plan = line_plan(promo(), route_now(promo(), at(MOSCOW, 2025, 3, 3, 10, 0)), POLICY, LIVE)
    assert plan.steps == [] and not plan.hang_up
    assert [(target.kind, target.name) for target in plan.chain] == [("queue", "Sales"), ("queue", "Default")]


def test_a_user_route_rings_the_users_phone_for_the_managers_ring_time():
    line = promo(route=Route("user", user=IVANOVA))
    plan = line_plan(line, route_now(line, at(MOSCOW, 2025, 3, 3, 10, 0)), POLICY, LIVE)
    user, fallback = plan.chain
    assert (user.kind, user.manager, user.ring_seconds, user.rings_a_phone) == ("user", IVANOVA, 15, True)
    assert fallback.queue == DEFAULT


def test_the_crm_route_leaves_the_chain_to_the_crms_routing():
    line = promo(route=Route("crm"))
    assert line_plan(line, route_now(line, at(MOSCOW, 2025, 3, 3, 10, 0)), POLICY, LIVE).chain is None


def test_after_hours_hang_up_says_so_in_the_route():
    plan = line_plan(promo(), route_now(promo(), at(MOSCOW, 2025, 3, 3, 20, 0)), POLICY, LIVE)
    assert plan.hang_up and plan.chain == []
    assert route_text(plan.steps) == ("line Promo is closed (after hours) → "
                                      "the caller heard the closed prompt and was hung up")
    holiday = line_plan(promo(), route_now(promo(), at(MOSCOW, 2025, 3, 10, 10, 0)), POLICY, LIVE)
    assert route_text(holiday.steps).startswith("line Promo is closed for Spring → ")


def test_a_route_to_a_queue_or_user_that_is_gone_goes_to_the_default_queue_and_says_why():
    gone = line_plan(promo(), route_now(promo(), at(MOSCOW, 2025, 3, 3, 10, 0)), POLICY, {1: "Default"})
    assert [t.queue for t in gone.chain] == [DEFAULT]
    assert route_text(gone.steps) == ("line Promo routes to queue Sales, which is deleted: "
                                      "the default queue takes the call")
    blocked = promo(route=Route("user", user=ManagerRef(3, "Irina Ivanova", "102", False)))
    plan = line_plan(blocked, route_now(blocked, at(MOSCOW, 2025, 3, 3, 10, 0)), POLICY, LIVE)
    assert [t.queue for t in plan.chain] == [DEFAULT]
    assert "routes to Irina Ivanova, who is blocked, deleted or has no extension" in route_text(plan.steps)


def test_the_lines_route_steps_read_in_russian():
    plan = line_plan(promo(), route_now(promo(), at(MOSCOW, 2025, 3, 3, 20, 0)), POLICY, LIVE)
    with i18n.using("ru"):
        text = route_text(plan.steps)
    assert text.startswith("линия Promo") and "closed" not in text, text
