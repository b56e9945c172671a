"""Listen-in, whisper and barge decided without I/O (issue 18): what the supervisor's phone joins
per mode (ari_app/supervision/plan.py) and who may ask when (crm/supervision/decide.py)."""

import pytest

from ari_app.constants import snoop_channel_id, supervision_request_id, supervisor_channel_id
from ari_app.supervision.plan import Barge, Snoop, Talking, operator_channel, plan
from crm.calls.channels import APP_CHANNEL_PREFIXES
from crm.cel.facts import Skipped, facts_of
from crm.supervision.decide import (
    ENDED,
    NO_EXTENSION,
    NO_OPERATOR,
    NOT_SUPERVISOR,
    OWN_CALL,
    RULES_FORBID,
    SupervisionFacts,
    refusal,
)

pytestmark = pytest.mark.unit

INCOMING = Talking("incoming", caller_channel="1700.1", partner_channel="pbxcrm-1700.1-ab", bridge="pbxcrm-1700.1")
PLACED = Talking("outgoing", caller_channel="1700.2", partner_channel="pbxcrm-1700.2-cd", bridge="pbxcrm-1700.2")


def test_listen_snoops_both_directions_of_the_operators_channel_and_whispers_nothing():
    assert plan("listen", INCOMING) == Snoop("pbxcrm-1700.1-ab", spy="both", whisper="none")


def test_whisper_speaks_only_out_of_the_operators_channel_toward_the_operators_phone():
    assert plan("whisper", INCOMING) == Snoop("pbxcrm-1700.1-ab", spy="both", whisper="out")


def test_barge_joins_the_calls_own_bridge():
    assert plan("barge", INCOMING) == Barge("pbxcrm-1700.1")
    assert plan("barge", PLACED) == Barge("pbxcrm-1700.2")


def test_on_a_call_placed_by_a_user_the_operator_is_the_users_own_phone():
    assert operator_channel(PLACED) == "1700.2"
    assert plan("listen", PLACED) == Snoop("1700.2", spy="both", whisper="none")
    assert plan("whisper", PLACED) == Snoop("1700.2", spy="both", whisper="out")


def test_nothing_to_join_without_a_conversation_or_somebody_on_it():
    assert plan("listen", None) is None
    assert plan("barge", Talking("incoming", "1700.1", "pbxcrm-1700.1-ab", bridge=None)) is None
    assert plan("listen", Talking("incoming", "1700.1", None, "pbxcrm-1700.1")) is None
    with pytest.raises(ValueError):
        plan("shout", INCOMING)


def test_the_supervision_channels_are_the_apps_and_not_calls_for_the_cel_reconciler():
    assert supervisor_channel_id(42) == "sup-42" and snoop_channel_id(42) == "sup-42-snoop"
    assert supervision_request_id("sup-42") == supervision_request_id("sup-42-snoop") == 42
    assert supervision_request_id("1700.1") is None and supervision_request_id("sup-x") is None
    assert supervisor_channel_id(42).startswith(APP_CHANNEL_PREFIXES)
    skipped = facts_of("sup-42", [])
    assert isinstance(skipped, Skipped) and skipped.nothing_to_log


SUPERVISOR = {"id": 7, "role": "supervisor", "extension": "107"}
TALKING = SupervisionFacts(answered=True, ended=False, talking_user_id=5)


@pytest.mark.parametrize("user, facts, may, mode, expected", [
    (SUPERVISOR, TALKING, True, "listen", None),
    ({**SUPERVISOR, "role": "admin"}, TALKING, True, "barge", None),
    ({**SUPERVISOR, "role": "operator"}, TALKING, True, "listen", NOT_SUPERVISOR),
    ({**SUPERVISOR, "role": "manager"}, TALKING, True, "listen", NOT_SUPERVISOR),
    (SUPERVISOR, TALKING, False, "listen", RULES_FORBID),
    ({**SUPERVISOR, "extension": None}, TALKING, True, "whisper", NO_EXTENSION),
    (SUPERVISOR, SupervisionFacts(True, True, None), True, "listen", ENDED),
    (SUPERVISOR, SupervisionFacts(False, False, None), True, "listen", NO_OPERATOR),
    (SUPERVISOR, SupervisionFacts(True, False, None), True, "listen", NO_OPERATOR),
    (SUPERVISOR, SupervisionFacts(True, False, 7), True, "listen", OWN_CALL),
])
def test_who_may_join_which_call_when(user, facts, may, mode, expected):
    assert refusal(facts, user, mode, may_listen=may) == expected


def test_a_mode_that_does_not_exist_is_refused_as_input():
    status, _message = refusal(TALKING, SUPERVISOR, "shout", may_listen=True)
    assert status == 422
