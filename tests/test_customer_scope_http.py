"""A customer's user through HTTP (issue 22, G3): two customers, each with an order, calls and SMS under
it, and calls and SMS under no order. Customer A's user sees exactly A's calls, recordings and SMS -
in every list, count, report, Excel file and JSON API - and nothing else: B's call and recording
answer 404, and so does every other route of the site (tests/site.py's pages and the app's routes),
never data; `/` takes it to its calls."""

import datetime as dt
import io
import re
from collections import defaultdict

import pytest
from openpyxl import load_workbook
from starlette.routing import Mount, Route

from crm.calls import queries as calls_q
from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.helpers import csrf_from, log_in_as, make_user
from tests.site import NOT_PAGES, PAGES
from web.customer_access import CUSTOMER_ROUTES

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
# Each call's far number tells whose it is; none of them is a substring of another.
NUMBERS = {"a1": "74951110001", "a2": "74951110002", "b1": "74952220001", "n1": "74953330001"}
SMS_NUMBERS = {"a": "+74951119999", "b": "+74952229999", "n": "+74953339999"}


async def _call(conn, key: str, order: int | None, counterparty: int | None = None) -> int:
    number = NUMBERS[key]
    await calls_q.insert_call(
        conn, channel_id=f"cust-{key}", direction="outgoing", caller_number="100", caller_normalized=None,
        caller_name="", called_number=number, called_normalized=number, line="PJSIP/trunk", started_at=NOW,
        linked_id=f"cust-{key}", counterparty_id=counterparty)
    await calls_q.mark_answered(conn, f"cust-{key}", NOW + dt.timedelta(seconds=5), None, None)
    await calls_q.mark_ended(conn, f"cust-{key}", NOW + dt.timedelta(seconds=65), 16)
    call_id = await calls_q.call_id_by_channel(conn, f"cust-{key}")
    await conn.execute("UPDATE calls SET order_id = $2 WHERE id = $1", call_id, order)
    return call_id


async def _customer_user(pool, login_name: str, customer: int):
    user = await make_user(pool, login_name)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE users SET role = 'customer', customer_id = $2 WHERE id = $1", user["id"], customer)
    return user


@pytest.fixture
async def world(db, tmp_path):
    anna = await make_user(db, "anna", "admin")
    async with db.acquire() as conn:
        alpha = await conn.fetchval("INSERT INTO customers (name) VALUES ('Alpha') RETURNING id")
        beta = await conn.fetchval("INSERT INTO customers (name) VALUES ('Beta') RETURNING id")
        order_a = await conn.fetchval("INSERT INTO orders (customer_id, name) VALUES ($1, 'A survey') RETURNING id",
                                      alpha)
        order_b = await conn.fetchval("INSERT INTO orders (customer_id, name) VALUES ($1, 'B survey') RETURNING id",
                                      beta)
        client = await service.create(conn, anna, CounterpartyInput(kind="client", last_name="Sokolov"), "RU")
        calls = {"a1": await _call(conn, "a1", order_a, client), "a2": await _call(conn, "a2", order_a),
                 "b1": await _call(conn, "b1", order_b), "n1": await _call(conn, "n1", None)}
        recordings = {}
        for key in ("a1", "b1", "n1"):
            audio = tmp_path / f"{key}.mp3"
            audio.write_bytes(b"ID3" + key.encode() * 200)
            recordings[key] = await conn.fetchval(
                "INSERT INTO recordings (call_id, path, format) VALUES ($1, $2, 'mp3') RETURNING id",
                calls[key], str(audio))
        sms = {}
        for key, order in (("a", order_a), ("b", order_b), ("n", None)):
            sms[key] = await conn.fetchval(
                """INSERT INTO sms_messages (direction, phone, body, status, order_id)
                   VALUES ('out', $1, $2, 'delivered', $3) RETURNING id""",
                SMS_NUMBERS[key], f"text of {key}", order)
    alice = await _customer_user(db, "alice", alpha)
    await _customer_user(db, "boris", beta)
    return {"anna": anna, "alice": alice, "calls": calls, "recordings": recordings, "sms": sms,
            "orders": {"a": order_a, "b": order_b}}


def _foreign(text: str, own: str) -> list[str]:
    """The numbers of other customers' (or no order's) calls and SMS that show in `text`."""
    return [n for k, n in (*NUMBERS.items(), *SMS_NUMBERS.items()) if not k.startswith(own) and n in text]


def _xlsx(web, path: str) -> list[tuple]:
    r = web.get(path)
    assert r.status_code == 200, (path, r.status_code)
    book = load_workbook(io.BytesIO(r.content))
    return [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]


def test_a_customer_sees_exactly_its_orders_calls_recordings_and_sms(web, world):
    calls, recs = world["calls"], world["recordings"]
    # The call centre sees them all (the data is there to leak).
    log_in_as(web, "anna")
    assert web.get("/api/calls").json()["total"] == 4
    assert web.get("/api/sms").json()["total"] == 3

    log_in_as(web, "alice")
    # `/` is its calls.
    home = web.get("/", follow_redirects=False)
    assert home.status_code == 302 and home.headers["location"].endswith("/calls")
    # The call log: its two calls, counted and listed, its recording playable; the same under filters.
    data = web.get("/api/calls").json()
    assert data["total"] == 2 and {c["id"] for c in data["calls"]} == {calls["a1"], calls["a2"]}
    assert {c["id"]: c["recording_id"] for c in data["calls"]} == {calls["a1"]: recs["a1"], calls["a2"]: None}
    for query in ("?direction=outgoing", "?q=7495", f"?number={NUMBERS['b1']}", "?status=answered&page=1&size=100"):
        listed = web.get("/api/calls" + query).json()
        assert {c["id"] for c in listed["calls"]} <= {calls["a1"], calls["a2"]}, query
        assert listed["total"] == len(listed["calls"]), query
    page = web.get("/calls")
    assert page.status_code == 200
    assert NUMBERS["a1"] in page.text and NUMBERS["a2"] in page.text and not _foreign(page.text, "a")
    # Its call's page and recording; another's are as missing as none.
    assert web.get(f"/calls/{calls['a1']}").status_code == 200
    assert web.get(f"/calls/{calls['a1']}.json").json()["recording_url"].endswith(f"/recordings/{recs['a1']}")
    heard = web.get(f"/recordings/{recs['a1']}")
    assert heard.status_code == 200 and heard.content.startswith(b"ID3a1")
    for key in ("b1", "n1"):
        assert web.get(f"/calls/{calls[key]}").status_code == 404
        assert web.get(f"/calls/{calls[key]}.json").status_code == 404
        assert web.get(f"/recordings/{recs[key]}").status_code == 404
    # The SMS list: its one message.
    sms = web.get("/api/sms").json()
    assert sms["total"] == 1 and [m["id"] for m in sms["messages"]] == [world["sms"]["a"]]
    page = web.get("/sms")
    assert page.status_code == 200 and SMS_NUMBERS["a"] in page.text and not _foreign(page.text, "a")
    # The call statistics over its calls only: the page, the JSON and the Excel file.
    report = web.get("/api/reports/calls").json()
    assert sum(row["calls"] for row in report["consolidated"]) == 2
    assert web.get("/reports/calls").status_code == 200
    assert web.get("/reports/calls?by=operator").status_code == 200
    sheets = _xlsx(web, "/reports/calls.xlsx")
    assert sum(row[2] for row in sheets if isinstance(row[2], int) and row[1] is not None
               and isinstance(row[0], str) and row[0] != "Operator") == 2
    # The Excel files of the lists: its rows only.
    call_rows = _xlsx(web, "/calls.xlsx")
    assert len(call_rows) == 3  # the header and its two calls
    text = " ".join(str(v) for row in call_rows for v in row)
    assert NUMBERS["a1"] in text and NUMBERS["a2"] in text and not _foreign(text, "a")
    sms_rows = _xlsx(web, "/sms.xlsx")
    text = " ".join(str(v) for row in sms_rows for v in row)
    assert len(sms_rows) == 2 and SMS_NUMBERS["a"] in text and not _foreign(text, "a")


def test_the_customers_pages_name_none_of_the_call_centres_directory(web, world):
    """The filters list no users, queues, lines, tags or counterparties; the nav only its own pages."""
    log_in_as(web, "alice")
    page = web.get("/calls?counterparty=1&operator=1").text
    assert "Anna" not in page and "Boris" not in page
    nav = page.split("</nav>")[0]
    assert 'href="/calls"' in nav and 'href="/sms"' in nav and 'href="/reports/calls"' in nav
    for staff in ("/clients", "/tasks", "/admin/", "/notifications", "/sms/campaigns", "/reports/deals"):
        assert f'href="{staff}' not in nav, staff
    assert "Anna" not in web.get("/sms").text and "Anna" not in web.get("/reports/calls?by=operator").text
    # No way into the call centre's pages from its own: no card links, no click-to-call; its Excel files offered.
    for address in ("/calls", f"/calls/{world['calls']['a1']}", "/sms"):
        text = web.get(address).text
        assert 'href="/counterparties/' not in text and "data-call=" not in text, address
        assert "Sokolov" in text or address == "/sms", address  # its call's counterparty, by name
    assert 'id="export" href="/calls.xlsx' in web.get("/calls").text
    assert 'id="export" href="/reports/calls.xlsx' in web.get("/reports/calls").text
    account = web.get("/account").text
    assert 'id="follow-me-form"' not in account and 'id="sms-email-form"' not in account
    assert 'href="/account/password"' in account


def _fill(path: str, ids: dict) -> str:
    """A route's path with every {param} filled: an id of the other customer's call, else 1."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(ids.get(m.group(1), ids["id"])), path)


def test_every_other_route_answers_404_to_a_customer(web, web_app, world):
    log_in_as(web, "alice")
    token = csrf_from(web.get("/account").text)
    ids = defaultdict(lambda: world["calls"]["b1"], id=world["calls"]["b1"], channel="cust-b1", path="x",
                      token="x", kind="client")
    walked = 0
    for route in web_app.routes:
        if isinstance(route, Mount) or not isinstance(route, Route) or route.name in CUSTOMER_ROUTES:
            continue
        path = _fill(route.path, ids)
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            r = web.request(method, path, headers={"X-CSRF-Token": token, "Accept": "application/json"},
                            follow_redirects=False)
            assert r.status_code == 404, (method, route.path, r.status_code, r.text[:200])
            walked += 1
    assert walked > 100
    # The site's pages (tests/site.py) with any id: a page of its own, or 404 - never another's data.
    allowed = {"/calls", "/sms", "/reports/calls", "/account", "/account/password", "/account/second-factor",
               "/calls/{id:int}", "/login", "/orders", "/orders/{id:int}"}  # its own orders (issue 22)
    for page in PAGES:
        address = page.address.format_map(ids)
        r = web.get(address, follow_redirects=False)
        if page.route in allowed:
            assert r.status_code in (200, 302, 303, 404), (page.name, r.status_code)
            assert not _foreign(r.text, "a"), page.name
        else:
            assert r.status_code == 404, (page.name, address, r.status_code)
    for path in NOT_PAGES:
        # The web chat's widget is a public script (issue 23): everyone's, a customer's user's too.
        if path not in ("/", "/recordings/{id:int}", "/calls/{id:int}.json", "/events", "/chat/widget.js") \
                and "second-factor" not in path:
            assert web.get(_fill(path, ids), follow_redirects=False).status_code == 404, path
