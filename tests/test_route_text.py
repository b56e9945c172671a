from crm.calls.route import route_text


def test_route_reads_as_a_sentence():
    steps = [
        {"kind": "manager", "target": "manager Ivanova", "result": "did not answer in 20 s"},
        {"kind": "queue", "target": "queue Sales", "result": "answered by Petrov"},
    ]
    assert route_text(steps) == "manager Ivanova did not answer in 20 s → queue Sales: answered by Petrov"
    assert route_text('[{"kind": "queue", "target": "queue Default", "result": "nobody answered in 60 s"}]') \
        == "queue Default: nobody answered in 60 s"
    assert route_text([]) == ""
