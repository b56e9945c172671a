"""Transfers' pure decisions (crm/transfers/decide.py), the ChannelTransfer event as the app reads
it (ari_app/transfers/events.py), and the route's words for a transfer (crm/calls/route.py)."""

from ari_app.transfers.events import ReferRequest
from crm import i18n
from crm.calls import route
from crm.calls.route import Outcome
from crm.routing.decide import ManagerRef, QueueRef
from crm.transfers.decide import (
    ENDED,
    FORBIDDEN,
    NOT_ANSWERED,
    PLACED,
    SAME_USER,
    Destination,
    TransferFacts,
    chain,
    destination_of,
    queue_target,
    refusal,
    user_target,
)

OPERATOR = {"id": 5, "role": "operator"}
TALKING = TransferFacts("incoming", answered=True, ended=False, talking_user_id=5)


def test_the_operator_talking_a_supervisor_or_an_admin_may_transfer_a_call_being_talked_on():
    assert refusal(TALKING, OPERATOR) is None
    assert refusal(TALKING, {"id": 9, "role": "supervisor"}) is None
    assert refusal(TALKING, {"id": 9, "role": "admin"}) is None
    assert refusal(TALKING, {"id": 9, "role": "manager"}) == FORBIDDEN
    assert refusal(TALKING, {"id": 9, "role": "operator"}) == FORBIDDEN
    # Who answered first is not who talks now: after a transfer the first operator may not.
    assert refusal(TransferFacts("incoming", True, False, talking_user_id=7), OPERATOR) == FORBIDDEN


def test_a_call_not_talked_on_now_or_placed_by_a_user_is_a_conflict():
    boss = {"id": 9, "role": "supervisor"}
    assert refusal(TransferFacts("incoming", True, True, None), boss) == ENDED
    assert refusal(TransferFacts("incoming", False, False, None), boss) == NOT_ANSWERED
    assert refusal(TransferFacts("outgoing", True, False, 9), boss) == PLACED
    assert refusal(TransferFacts("internal", True, False, 5), OPERATOR) == PLACED
    assert ENDED[0] == NOT_ANSWERED[0] == PLACED[0] == 409 and FORBIDDEN[0] == 403
    assert refusal(TALKING, OPERATOR, target_user_id=5) == SAME_USER
    assert refusal(TALKING, OPERATOR, target_user_id=6) is None


def test_what_a_phones_refer_names():
    assert destination_of("103") == Destination("extension", "103")
    assert destination_of("1001") == Destination("extension", "1001")
    assert destination_of("84951234567") == Destination("number", "84951234567")
    assert destination_of("+74951234567") == Destination("number", "+74951234567")
    for nothing in ("", "1", "1234567890123456789012", "sales", "103;user=phone", "+103"):
        assert destination_of(nothing) is None, nothing


IVANOVA = ManagerRef(1, "Irina Ivanova", "102", True)
DEFAULT = QueueRef(10, "Default")


def test_a_transfer_rings_the_target_then_the_transferer_then_the_default_queue():
    petrov = user_target(2, "Pavel Petrov", "103", 20)
    steps = chain(petrov, transferer=IVANOVA, default_queue=DEFAULT, by="Irina Ivanova", ring_seconds=20)
    assert [(t.kind, t.route_code, t.name, t.by) for t in steps] == [
        ("user", "transfer_user", "Pavel Petrov", "Irina Ivanova"),
        ("user", "transfer_back", "Irina Ivanova", None),
        ("queue", None, "Default", None)]
    assert steps[0].ring_seconds == steps[1].ring_seconds == 20 and steps[0].rings_a_phone


def test_a_transfer_chain_rings_nobody_twice_in_a_row():
    to_default = chain(queue_target(10, "Default"), transferer=IVANOVA, default_queue=DEFAULT, by="Boss",
                       ring_seconds=20)
    assert [(t.kind, t.name) for t in to_default] == [("queue", "Default"), ("user", "Irina Ivanova")]
    # A supervisor transfers Ivanova's call to Ivanova herself (e.g. back from a colleague): no second ring.
    to_herself = chain(user_target(1, "Irina Ivanova", "102", 20), transferer=IVANOVA, default_queue=DEFAULT,
                       by="Boss", ring_seconds=20)
    assert [t.route_code for t in to_herself] == ["transfer_user", None]
    # To a number (rung before the chain), from a phone that is no user's: the default queue only.
    assert [t.name for t in chain(None, transferer=None, default_queue=DEFAULT, by="x", ring_seconds=20)] == ["Default"]
    no_phone = ManagerRef(1, "Irina Ivanova", None, True)
    assert [t.name for t in chain(None, transferer=no_phone, default_queue=DEFAULT, by="x", ring_seconds=5)] == \
        ["Default"]


def _channel(channel_id: str) -> dict:
    return {"id": channel_id, "name": f"PJSIP/102-{channel_id}", "state": "Up"}


def test_the_channel_transfer_event_as_a_request():
    blind = ReferRequest.from_event({
        "type": "ChannelTransfer", "refer_to": {"requested_destination": {"destination": "103"}},
        "referred_by": {"source_channel": _channel("leg"), "connected_channel": _channel("caller"),
                        "bridge": {"id": "b"}}})
    assert blind == ReferRequest(source="leg", destination="103") and not blind.attended
    attended = ReferRequest.from_event({
        "type": "ChannelTransfer",
        "refer_to": {"requested_destination": {"destination": "104", "protocol_id": "abc@127.0.0.1",
                                               "additional_protocol_params": [
                                                   {"parameter_name": "from", "parameter_value": "f"}]},
                     "destination_channel": _channel("consult"), "connected_channel": _channel("lebedev")},
        "referred_by": {"source_channel": _channel("leg")}})
    assert attended.attended and attended.consultation == "consult" and attended.replaces == "abc@127.0.0.1"
    # Replaces naming a dialog this Asterisk does not have: attended, with no channel to take.
    foreign = ReferRequest.from_event({"refer_to": {"requested_destination": {"destination": "", "protocol_id": "x"}},
                                       "referred_by": {"source_channel": _channel("leg")}})
    assert foreign.attended and foreign.consultation is None
    echo = ReferRequest.from_event({"refer_to": {"requested_destination": {"destination": "103"}},
                                    "referred_by": {"source_channel": _channel("leg")}, "state": "channel_answered"})
    assert echo.state == "channel_answered"


def test_a_transfer_continues_the_route_text_in_both_languages():
    steps = [route.step("manager", "manager", Outcome("answered"), name="Ivanova"),
             route.step("queue", "transfer_queue", Outcome("answered_by", {"name": "Petrov", "seconds": 5}),
                        name="Support", by="Ivanova"),
             route.step("transfer", "transfer_attended", Outcome("connected"), name="Sidorov", by="Petrov")]
    assert route.route_text(steps) == ("manager Ivanova answered → transferred by Ivanova to queue Support: "
                                       "answered by Petrov after 5 s → transferred by Petrov to Sidorov after a "
                                       "consultation: connected")
    with i18n.using("ru"):
        text = route.route_text(steps)
    assert text.count("перевод") == 2 and "соединён" in text, text
    assert "Support" in text and "Petrov" in text and "transferred" not in text
    refused = route.step("transfer", "transfer_refused", Outcome("no_such_target"), number="999", by="Ivanova")
    assert route.route_text([refused]) == "transfer by Ivanova to 999: refused: no user has that extension and it is no number"
