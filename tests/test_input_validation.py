"""Bad input gets a 400 naming the field (or 404/413), never a 500 (issue 12, "Bad input that gives 500 today")."""

from starlette.testclient import TestClient

from tests.helpers import login, make_user

HUGE = "9" * 25  # past 64 bits


def _h(web_500: TestClient) -> dict:
    return {"x-csrf-token": web_500.cookies["pbxcrm_csrf"]}


def _form(web_500: TestClient, **data) -> dict:
    return {"csrf_token": web_500.cookies["pbxcrm_csrf"], **data}


async def _as(web_500, db, role="admin"):
    user = await make_user(db, role, role)
    login(web_500, role)
    return user


def _field(r, name: str) -> str:
    assert r.status_code == 400, (r.status_code, r.text[:500])
    body = r.json()
    assert name in body["fields"], body
    assert body["error"]
    return body["fields"][name]


async def test_integers_past_64_bits_in_page_filter_ids_and_path_ids(web_500, db):
    await _as(web_500, db)
    _field(web_500.get("/api/clients", params={"page": HUGE}), "page")
    _field(web_500.get("/api/clients", params={"responsible": HUGE}), "responsible")
    _field(web_500.get("/api/clients", params={"company": HUGE}), "company")
    _field(web_500.get("/api/clients", params={"tag": HUGE}), "tag")
    _field(web_500.get("/api/calls", params={"page": HUGE}), "page")
    assert web_500.get("/clients", params={"page": HUGE}).status_code == 400
    assert web_500.get("/tasks", params={"notag": HUGE, "responsible": "x"}).status_code == 400
    assert web_500.get("/counterparties/1", params={"tpage": HUGE}).status_code in (400, 404)
    for path in (f"/counterparties/{HUGE}", f"/api/counterparties/{HUGE}", f"/tasks/{HUGE}",
                 f"/api/calls/{HUGE}", f"/admin/users/{HUGE}", f"/recordings/{HUGE}", f"/import/{HUGE}"):
        assert web_500.get(path).status_code == 404, path
    r = web_500.post(f"/api/calls/{HUGE}/counterparty", headers=_h(web_500), json={"counterparty_id": 1})
    assert r.status_code == 404
    r = web_500.post("/api/calls/channel/x/counterparty", headers=_h(web_500), json={"counterparty_id": int(HUGE)})
    _field(r, "counterparty_id")


async def test_a_nul_byte_in_a_search_or_a_name_is_refused_naming_the_field(web_500, db):
    await _as(web_500, db)
    assert "NUL" in _field(web_500.get("/api/clients", params={"q": "Iva\x00nov"}), "q")
    _field(web_500.get("/api/calls", params={"q": "\x00"}), "q")
    assert web_500.get("/tasks", params={"q": "a\x00"}).status_code == 400
    _field(web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "Iva\x00nov"}),
           "last_name")
    r = web_500.post("/counterparties/new", data=_form(web_500, kind="client", last_name="Iva\x00nov"))
    assert r.status_code == 400 and "NUL" in r.text
    _field(web_500.post("/api/calls/channel/ch%00an/comment", headers=_h(web_500), json={"comment": "x"}), "channel")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 0


async def test_new_form_with_a_company_that_is_not_a_number(web_500, db):
    await _as(web_500, db)
    r = web_500.get("/counterparties/new", params={"company": "abc"})
    assert r.status_code == 400 and "Company: must be a whole number" in r.text
    r = web_500.get("/counterparties/new", params={"company": HUGE})
    assert r.status_code == 400


async def test_wrong_json_types_are_refused_not_coerced(web_500, db):
    admin = await _as(web_500, db)
    base = {"login": "nina", "full_name": "Nina", "password": "long enough password", "role": "manager"}
    assert "text" in _field(web_500.post("/api/users", headers=_h(web_500), json={**base, "extension": 123}), "extension")
    _field(web_500.post("/api/users", headers=_h(web_500), json={**base, "email": [1]}), "email")
    _field(web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "A",
                                                                  "addresses": 5}), "addresses")
    _field(web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": {"a": 1}}),
           "last_name")
    _field(web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "A",
                                                                  "responsible_user_id": True}),
           "responsible_user_id")
    _field(web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "A",
                                                                  "contacts": [{"kind": "phone", "value": 5}]}),
           "contacts.0.value")
    r = web_500.post("/api/calls", headers=_h(web_500), json={"number": "+74951234567", "user_id": True})
    _field(r, "user_id")
    _field(web_500.post("/api/calls", headers=_h(web_500), json={"number": 74951234567}), "number")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 0
        assert await conn.fetchval("SELECT count(*) FROM users") == 1
        assert await conn.fetchval("SELECT count(*) FROM call_requests") == 0
    assert admin["id"] == 1


async def test_far_dates_in_call_statistics_and_reports(web_500, db):
    await _as(web_500, db)
    for params in ({"from": "9999-12-30"}, {"from": "9999-12-30", "to": "9999-12-31"},
                   {"from": "0001-01-01", "to": "0001-01-02", "group": "week"},
                   {"from": "9999-12-01", "to": "9999-12-31", "group": "month"}):
        r = web_500.get("/api/reports/calls", params=params)
        assert r.status_code == 400, (params, r.status_code)
        assert set(r.json()["fields"]) & {"from", "to"}
        assert web_500.get("/reports/calls.xlsx", params=params).status_code == 400
        assert web_500.get("/calls.xlsx", params=params).status_code == 400
        assert web_500.get("/reports/deals", params=params).status_code == 400
    assert web_500.get("/tasks", params={"deadline_from": "9999-12-31"}).status_code == 400


async def test_odd_digits_and_odd_parameter_names(web_500, db):
    await _as(web_500, db)
    # A task search that looks like a number: "²" is a digit to str.isdigit, not to int().
    for q in ("#²", "#" + HUGE, "²"):
        assert web_500.get("/tasks", params={"q": q}).status_code == 200, q
    for params in ({"tag": "²"}, {"page": "٣"}, {"responsible": "¹"}):
        assert web_500.get("/api/clients", params=params).status_code == 400, params
    # What the list's own form sends when nothing is chosen is no filter, not an error.
    blank = {"tag": "", "notag": "", "responsible": "", "status": "", "page": "", "q": ""}
    assert web_500.get("/api/clients", params=blank).status_code == 200
    assert web_500.get("/tasks", params={**blank, "created_from": "", "deadline_to": ""}).status_code == 200
    # A NUL in a parameter whose name is not ASCII: still a 400 naming it.
    r = web_500.get("/tasks/1", params={"¹": "\x00"})
    assert r.status_code == 400 and "¹" in r.text


async def test_every_text_field_has_a_length_limit(web_500, db):
    await _as(web_500, db)
    r = web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "A",
                                                              "comment": "x" * 10_001})
    assert "10000" in _field(r, "comment")
    _field(web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "A",
                                                                 "addresses": ["x" * 1001]}), "addresses.0")
    cid = web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "A"}).json()["id"]
    r = web_500.post(f"/counterparties/{cid}/addresses", data=_form(web_500, address="x" * 1001))
    assert r.status_code == 400 and "1000 characters" in r.text
    r = web_500.post(f"/counterparties/{cid}/notes", data=_form(web_500, body="x" * 10_001))
    assert r.status_code == 400
    r = web_500.post("/admin/tags", data=_form(web_500, name="t", description="x" * 1001))
    assert r.status_code == 400 and "description" in r.text.lower()
    r = web_500.post("/filters", data=_form(web_500, section="clients", name="f", query="q=" + "x" * 3000))
    assert r.status_code == 400
    _field(web_500.get("/api/clients", params={"q": "x" * 201}), "q")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 1
        assert await conn.fetchval("SELECT count(*) FROM addresses") == 0


async def test_a_body_over_the_limit_is_413_with_a_clear_message(web_500, db):
    await _as(web_500, db)
    big = "x" * (2 * 1024 * 1024)
    r = web_500.post("/counterparties/new", data=_form(web_500, kind="client", last_name="A", comment=big))
    assert r.status_code == 413 and "too big" in r.text and "CSRF" not in r.text
    r = web_500.post("/counterparties/new", files={"comment": ("c.txt", big.encode())},
                 data={"csrf_token": web_500.cookies["pbxcrm_csrf"], "kind": "client", "last_name": "A"})
    assert r.status_code == 413 and "too big" in r.text and "CSRF" not in r.text
    r = web_500.post("/api/counterparties", headers=_h(web_500), json={"kind": "client", "last_name": "A", "comment": big})
    assert r.status_code == 413 and "too big" in r.json()["error"]

    def chunks():  # no Content-Length: counted as it streams in
        yield b'{"kind": "client", "last_name": "A", "comment": "'
        for _ in range(40):
            yield b"x" * 64 * 1024
        yield b'"}'
    r = web_500.post("/api/counterparties", headers={**_h(web_500), "content-type": "application/json"}, content=chunks())
    assert r.status_code == 413 and "at most 1 MB" in r.json()["error"]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 0


async def test_form_errors_are_shown_once_next_to_the_field_in_words(web_500, db):
    await _as(web_500, db)
    r = web_500.post("/counterparties/new", data=_form(web_500, kind="client", last_name="A",
                                                   phones="+7 495 123-45-67\nzz-top"))
    assert r.status_code == 400
    assert "contacts." not in r.text
    assert r.text.count("zz-top") == 2  # the textarea's value, and the one message next to it
    assert 'aria-describedby="error-phones"' in r.text and r.text.count('class="error field-error"') == 1
    assert "+7 495 123-45-67" in r.text  # the form keeps what was typed
    r = web_500.post("/counterparties/new", data=_form(web_500, kind="client", last_name="A", comment="x" * 10_001,
                                                   remark="x" * 301))
    assert r.status_code == 400 and r.text.count('class="error field-error"') == 2
    assert 'id="error-remark"' in r.text and 'id="error-comment"' in r.text
    assert "is longer than 10000 characters" in r.text and "comment:" not in r.text
    r = web_500.post("/counterparties/new", data=_form(web_500, kind="client", last_name="A", company_id="x"))
    assert r.status_code == 400 and "Company: must be a whole number" in r.text


async def test_task_form_errors_are_next_to_their_fields(web_500, db):
    await _as(web_500, db)
    r = web_500.post("/tasks/new", data=_form(web_500, title="Call", type_id="1", deadline_date="2024-13-45",
                                           participant_ids=HUGE))
    assert r.status_code == 400
    assert 'id="error-deadline_date"' in r.text and 'id="error-participant_ids"' in r.text
    assert r.text.count("must be a date, YYYY-MM-DD") == 1 and "deadline_date:" not in r.text
    r = web_500.post("/tasks/new", data=_form(web_500, title="x" * 201, type_id="1"))
    assert r.status_code == 400 and 'id="error-title"' in r.text and "longer than 200 characters" in r.text


async def test_a_nul_byte_in_the_login_page_query_is_refused_not_a_500(web_500, db):
    r = web_500.get("/login", params={"next": "/clients\x00"})
    assert r.status_code == 400 and "Page after login: contains a NUL character" in r.text
    await _as(web_500, db)
    _field(web_500.post("/api/users/1/password", headers=_h(web_500), json={"password": 12345678901}), "password")
    _field(web_500.post("/api/users/1/password", headers=_h(web_500), json={"password": "long enough\x00password"}),
           "password")


async def test_the_import_keeps_its_larger_upload_limit(web_500, db):
    await _as(web_500, db)
    two_mb = b"PK" + b"\0" * (2 * 1024 * 1024)
    r = web_500.post("/import", files={"file": ("big.xlsx", two_mb)}, data={"kind": "counterparties", "mode": "valid"},
                 headers=_h(web_500), follow_redirects=False)
    assert r.status_code == 303  # accepted for checking (and refused there: it is not a workbook)
    r = web_500.post("/import", files={"file": ("big.xlsx", two_mb * 11)}, data={"kind": "counterparties"},
                 headers=_h(web_500), follow_redirects=False)
    assert r.status_code == 413 and "the file is too big: at most 20 MB" in r.text
