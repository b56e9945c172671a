"""SMS campaigns without I/O (issue 21, I2): the statuses and who moves them, the sending window in the
recipient's time zone, the placeholders, and one recipient's checks."""

import datetime as dt

import pytest

from crm.sms.campaigns import model
from crm.sms.campaigns.recipients import check_recipient

OPERATOR = {"id": 1, "role": "operator"}
OTHER_OPERATOR = {"id": 2, "role": "operator"}
SUPERVISOR = {"id": 3, "role": "supervisor"}
MSK = dt.timezone(dt.timedelta(hours=3))


def campaign(status, author=1):
    return {"id": 7, "status": status, "author_id": author}


def test_the_way_through_and_what_cannot_happen():
    status = model.DRAFT
    for action, expected in ((model.SUBMIT, model.AWAITING), (model.APPROVE, model.APPROVED),
                             (model.START, model.RUNNING), (model.PAUSE, model.PAUSED), (model.RESUME, model.RUNNING),
                             (model.FINISH, model.DONE)):
        status = model.next_status(action, status)
        assert status == expected
    with pytest.raises(model.CampaignError, match="done"):
        model.next_status(model.CANCEL, model.DONE)
    with pytest.raises(model.CampaignError):
        model.next_status(model.APPROVE, model.DRAFT)  # not submitted yet
    with pytest.raises(model.CampaignError):
        model.next_status(model.RESUME, model.RUNNING)
    assert model.next_status(model.RETURN, model.AWAITING) == model.DRAFT
    assert model.next_status(model.CANCEL, model.PAUSED) == model.CANCELLED


def test_who_may_do_what():
    mine, supervisors = campaign(model.AWAITING), campaign(model.AWAITING, author=3)
    assert not model.may(OPERATOR, mine, model.APPROVE)  # an operator never approves, even their own
    assert model.may(SUPERVISOR, mine, model.APPROVE)
    assert model.may(SUPERVISOR, supervisors, model.APPROVE)  # a supervisor approves their own
    assert model.available(OPERATOR, mine) == [model.RETURN, model.CANCEL]
    assert model.available(SUPERVISOR, mine) == [model.APPROVE, model.RETURN, model.CANCEL]
    assert not model.sees(OTHER_OPERATOR, mine) and model.available(OTHER_OPERATOR, mine) == []
    assert model.available(OPERATOR, campaign(model.RUNNING)) == [model.PAUSE, model.CANCEL]
    assert model.may_edit(OPERATOR, campaign(model.DRAFT)) and not model.may_edit(OPERATOR, campaign(model.APPROVED))


def test_window_in_the_recipients_zone():
    eight_in_moscow = dt.datetime(2026, 11, 30, 8, 0, tzinfo=MSK)
    vladivostok = model.zone_of("+74232123456", "Europe/Moscow")
    assert vladivostok == "Asia/Vladivostok"
    # 08:00 in Moscow is 15:00 in Vladivostok: open there, closed in Moscow (a 09-21 window).
    assert model.window_open(eight_in_moscow, vladivostok, 9, 21)
    assert not model.window_open(eight_in_moscow, "Europe/Moscow", 9, 21)
    assert model.open_zones(eight_in_moscow, ["Europe/Moscow", vladivostok], 9, 21) == [vladivostok]
    # 21:00 Moscow: 04:00 in Vladivostok, no SMS at night; the window's end hour is not inside it.
    nine_pm = dt.datetime(2026, 11, 30, 21, 0, tzinfo=MSK)
    assert model.open_zones(nine_pm, ["Europe/Moscow", vladivostok], 9, 21) == []
    # A Russian mobile spans eleven zones: the centre's zone stands for it.
    assert model.zone_of("+79161234567", "Europe/Moscow") == "Europe/Moscow"
    assert model.zone_of("+12125551234", "Europe/Moscow") == "America/New_York"
    with pytest.raises(model.CampaignError):
        model.check_window(21, 9)


def test_placeholders():
    text = "Hello {first_name}! {manager} waits for you, {name}."
    model.check_text(text)
    assert model.render(text, model.Values("Ivanov Ivan", "Ivan", "Olga Petrova")) == \
        "Hello Ivan! Olga Petrova waits for you, Ivanov Ivan."
    assert model.render("Dear {first_name} , hi", model.Values()) == "Dear , hi"
    with pytest.raises(model.CampaignError, match=r"unknown placeholder \{surname\}; use \{name\}"):
        model.check_text("Hello {surname}")
    with pytest.raises(model.CampaignError, match="not closed"):
        model.check_text("Hello {name")
    with pytest.raises(model.CampaignError, match="empty"):
        model.check_text("   ")


def test_one_recipients_checks():
    values = model.Values("Sokolov Ivan", "Ivan", "")
    assert check_recipient("Hi {first_name}", "+74232123456", values, 1, "Europe/Moscow") == \
        ("Hi Ivan", 1, "Asia/Vladivostok", "")
    assert check_recipient("Hi", "101", values, 1, "Europe/Moscow")[3] == model.INVALID_NUMBER
    assert check_recipient("Hi", "+7123", values, 1, "Europe/Moscow")[3] == model.INVALID_NUMBER
    long_text = "Привет {first_name}, " + "ж" * 70  # UCS-2: over 70 units takes two parts
    assert check_recipient(long_text, "+79161234567", values, 1, "Europe/Moscow")[1:] == \
        (2, "Europe/Moscow", model.TOO_LONG)
    assert check_recipient(long_text, "+79161234567", values, 2, "Europe/Moscow")[3] == ""
