from crm import i18n
from crm.calls.route import Outcome, route_text, step


def test_route_reads_as_a_sentence():
    steps = [
        {"kind": "manager", "target": "manager Ivanova", "result": "did not answer in 20 s"},
        {"kind": "queue", "target": "queue Sales", "result": "answered by Petrov"},
    ]
    assert route_text(steps) == "manager Ivanova did not answer in 20 s → queue Sales: answered by Petrov"
    assert route_text('[{"kind": "queue", "target": "queue Default", "result": "nobody answered in 60 s"}]') \
        == "queue Default: nobody answered in 60 s"
    assert route_text([]) == ""


def _new_steps():
    """Steps as the call path writes them now: codes and parameters beside the English words."""
    return [step("manager", "manager", Outcome("no_answer", {"seconds": 20}), name="Ivanova", reason="responsible"),
            step("queue", "queue", Outcome("answered_by", {"name": "Petrov", "seconds": 5}), name="Sales")]


def test_a_step_keeps_its_english_words_beside_its_codes():
    manager, queue = _new_steps()
    assert manager == {"kind": "manager", "target_code": "manager", "target": "manager Ivanova", "name": "Ivanova",
                       "code": "no_answer", "params": {"seconds": 20}, "result": "did not answer in 20 s",
                       "reason": "responsible"}
    assert queue["result"] == "answered by Petrov after 5 s"
    assert route_text(_new_steps()) == "manager Ivanova did not answer in 20 s → queue Sales: answered by Petrov after 5 s"


def test_the_route_reads_in_the_language_in_force():
    with i18n.using("ru"):
        assert route_text(_new_steps()) == \
            "менеджер Ivanova не ответил за 20 с → очередь Sales: ответил оператор Petrov через 5 с"
        # A call status "answered" is "отвечен"; a manager who answered "ответил".
        assert route_text([step("manager", "manager", Outcome("answered"), name="Иванова")]) == "менеджер Иванова ответил"
        assert route_text([step("internal", "extension_named", Outcome("busy"), name="Петров", number="103")]) == \
            "внутренний номер 103 (Петров) был занят"
        assert route_text([step("outgoing", "number", Outcome("not_reached", {"error": 500}), number="74951234567")]) \
            == "74951234567 недоступен (500)"
        assert route_text([step("queue", "dialplan", Outcome("crm_not_loaded"))]) == \
            "очередь по умолчанию (диалплан): в CRM ещё нет данных для маршрутизации"


def test_old_english_steps_are_recognised_and_translated():
    old = [
        {"kind": "manager", "target": "manager Irina Ivanova", "result": "is busy on another call"},
        {"kind": "queue", "target": "queue VIP", "result": "does not exist any more"},
        {"kind": "queue", "target": "queue Default", "result": "answered by Pavel Petrov after 12 s"},
    ]
    with i18n.using("ru"):
        assert route_text(old) == ("менеджер Irina Ivanova занят другим звонком → очередь VIP: больше не существует"
                                   " → очередь Default: ответил оператор Pavel Petrov через 12 с")
        assert route_text([{"kind": "internal", "target": "extension 104", "result": "could not be reached (cause 34)"},
                           {"kind": "note", "target": "pbxcrm", "result": "took the call up again after a restart"},
                           {"kind": "queue", "target": "default queue (dialplan)",
                            "result": "the CRM failed while routing"}]) == \
            ("внутренний номер 104 недоступен (причина 34) → pbxcrm снова взял звонок после перезапуска"
             " → очередь по умолчанию (диалплан): сбой CRM при маршрутизации")
        # Words it does not know are shown as they are.
        assert route_text([{"kind": "queue", "target": "night shift", "result": "forwarded to the mobile"}]) == \
            "night shift: forwarded to the mobile"
    # In English an old step reads as it always did.
    assert route_text(old).startswith("manager Irina Ivanova is busy on another call → queue VIP: does not exist")


def test_a_step_from_a_newer_version_falls_back_to_its_english_words():
    odd = [{"kind": "manager", "target_code": "manager", "name": "Ivanova", "target": "manager Ivanova",
            "code": "teleported", "params": {}, "result": "was teleported away"}]
    with i18n.using("ru"):
        assert route_text(odd) == "менеджер Ivanova was teleported away"
