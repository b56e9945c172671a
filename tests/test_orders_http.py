"""Order pages through HTTP (issue 22, H9, G3): create with a file (rows loaded) or a URL (its error shown
on the page, the rows kept), validation with nothing lost, rights per role (a customer's user sees only its
customer's orders in the list, the page, the JSON and the count; operators call but do not edit), CSRF,
and an SMS from a row that links to the order."""

import pytest

from crm.calls import rule_queries as call_rules_q
from crm.calls.rules import DENY, SEE, Rule
from crm.orders import customers
from tests.helpers import log_in_as, make_user, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = b"Phone;Name\n+7 495 111-11-11;Ivanov\n+7 495 222-22-22;Petrov\n"


@pytest.fixture
async def world(db):
    anna = await make_user(db, "anna", "admin", extension="101")
    async with db.acquire() as conn:
        romashka = await customers.save(conn, anna["id"], None, "Romashka")
        lyutik = await customers.save(conn, anna["id"], None, "Lyutik")
    return {"anna": anna, "romashka": romashka, "lyutik": lyutik,
            "maria": await make_user(db, "maria", "manager", extension="102"),
            "oleg": await make_user(db, "oleg", "operator", extension="103"),
            "rita": await make_user(db, "rita", "customer", customer_id=romashka),
            "lev": await make_user(db, "lev", "customer", customer_id=lyutik)}


def _save(web, data, *, order_id=None, file=None):
    fields = {"csrf_token": web.cookies["pbxcrm_csrf"], "status": "open", **data}
    files = {"file": file or ("", b"", "application/octet-stream")}
    return web.post(f"/orders/{order_id}" if order_id else "/orders", data=fields, files=files,
                    follow_redirects=False)


def _id(response) -> int:
    assert response.status_code == 303, response.text[:2000]
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_create_with_a_file_and_the_rights_of_each_role(web, world, db):
    log_in_as(web, "maria")
    mine = _id(_save(web, {"name": "Winter survey", "customer_id": str(world["romashka"]),
                           "script": "Hello, <b>this</b> is Romashka"},
                     file=("list.xlsx", workbook(["Phone", "Name"], [["+74951111111", "Ivanov"],
                                                                     ["+74952222222", "Petrov"]]), XLSX)))
    other = _id(_save(web, {"name": "Spring promo", "customer_id": str(world["lyutik"])},
                      file=("list.csv", CSV, "text/csv")))
    page = web.get(f"/orders/{mine}").text
    assert "Ivanov" in page and "Petrov" in page and "Romashka" in page
    assert "Hello, &lt;b&gt;this&lt;/b&gt; is Romashka" in page  # the script is shown escaped
    assert 'class="call-row"' in page
    # Staff see both; an operator calls but does not edit.
    log_in_as(web, "oleg")
    listed = web.get("/orders", headers={"accept": "application/json"}).json()
    assert listed["total"] == 2 and {o["name"] for o in listed["items"]} == {"Winter survey", "Spring promo"}
    assert 'class="call-row"' in web.get(f"/orders/{mine}").text
    assert web.get("/orders/new").status_code == 403
    assert _save(web, {"name": "X", "customer_id": str(world["romashka"])}, order_id=mine).status_code == 403
    # A customer's user: its own customer's order only, read-only, no calling.
    log_in_as(web, "rita")
    listed = web.get("/orders", headers={"accept": "application/json"}).json()
    assert listed["total"] == 1 and [o["id"] for o in listed["items"]] == [mine]
    html = web.get("/orders").text
    assert "Winter survey" in html and "Spring promo" not in html
    page = web.get(f"/orders/{mine}")
    assert page.status_code == 200 and "Ivanov" in page.text and 'class="call-row"' not in page.text
    assert web.get(f"/orders/{other}").status_code == 404
    assert web.get(f"/orders/{other}", headers={"accept": "application/json"}).status_code == 404
    # Every other order route is unknown to a customer's user (web/customer_access.py): 404, as for no route.
    assert web.get(f"/orders/{mine}/edit").status_code == 404
    async with db.acquire() as conn:
        row_id = await conn.fetchval("SELECT id FROM order_rows WHERE order_id = $1 ORDER BY id LIMIT 1", mine)
        other_row = await conn.fetchval("SELECT id FROM order_rows WHERE order_id = $1 ORDER BY id LIMIT 1", other)
    token = web.cookies["pbxcrm_csrf"]
    assert web.post(f"/orders/{mine}/rows/{row_id}/call", data={"csrf_token": token},
                    follow_redirects=False).status_code == 404
    assert web.post(f"/orders/{other}/rows/{other_row}/call", data={"csrf_token": token},
                    follow_redirects=False).status_code == 404
    assert web.post(f"/orders/{mine}/reload", data={"csrf_token": token}, follow_redirects=False).status_code == 404
    assert _save(web, {"name": "Mine now", "customer_id": str(world["romashka"])}).status_code == 404
    log_in_as(web, "lev")
    assert [o["id"] for o in web.get("/orders", headers={"accept": "application/json"}).json()["items"]] == [other]
    assert web.get(f"/orders/{mine}").status_code == 404
    async with db.acquire() as conn:
        calls = await conn.fetchval("SELECT count(*) FROM call_requests")
    assert calls == 0


async def test_bad_input_keeps_what_was_typed(web, world, db):
    log_in_as(web, "anna")
    r = _save(web, {"name": "", "customer_id": "", "script": "Keep me", "source_url": "file:///etc/passwd",
                    "reload_minutes": "1"})
    assert r.status_code == 400
    assert "Keep me" in r.text and "file:///etc/passwd" in r.text
    assert "the order needs a name" in r.text and "choose the customer" in r.text
    assert "only http:// and https:// addresses are read" in r.text
    r = _save(web, {"name": "Bad file", "customer_id": str(world["romashka"]), "script": "Keep me too"},
              file=("list.csv", b"Name;City\nIvanov;Moscow\n", "text/csv"))
    assert r.status_code == 400 and "Phone" in r.text and "Keep me too" in r.text
    r = _save(web, {"name": "Orphan", "customer_id": "999999"})
    assert r.status_code == 400 and "choose the customer" in r.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders") == 0
    # No CSRF token: refused.
    assert web.post("/orders", data={"name": "x"}, follow_redirects=False).status_code == 403


async def test_a_url_that_fails_is_shown_on_the_page_and_the_rows_stay(web, world, db):
    log_in_as(web, "anna")
    order_id = _id(_save(web, {"name": "From a URL", "customer_id": str(world["romashka"]),
                               "source_url": "http://127.0.0.1:9/list.csv", "reload_minutes": "60"},
                         file=("list.csv", CSV, "text/csv")))
    r = web.post(f"/orders/{order_id}/reload", data={"csrf_token": web.cookies["pbxcrm_csrf"]},
                 follow_redirects=False)
    assert r.status_code == 303
    page = web.get(f"/orders/{order_id}").text
    assert 'id="last-error"' in page and "local or private network" in page
    assert "Ivanov" in page and "Petrov" in page
    async with db.acquire() as conn:
        await customers.set_private_urls(conn, world["anna"]["id"], True)
    web.post(f"/orders/{order_id}/reload", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    page = web.get(f"/orders/{order_id}").text
    assert "cannot connect to 127.0.0.1" in page and "Ivanov" in page
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM order_rows WHERE removed_at IS NULL") == 2
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log WHERE entity = 'order'")]
    assert actions == ["create"]


async def test_an_sms_from_a_row_links_to_the_order(web, world, db):
    async with db.acquire() as conn:
        await conn.execute("""INSERT INTO sms_gateways (name, kind) VALUES ('gw', 'smpp');
                              INSERT INTO sms_numbers (number, gateway_id, is_default)
                                  VALUES ('+74950000000', (SELECT id FROM sms_gateways), true)""")
    log_in_as(web, "maria")
    order_id = _id(_save(web, {"name": "Texts", "customer_id": str(world["romashka"])},
                         file=("list.csv", CSV, "text/csv")))
    async with db.acquire() as conn:
        row_id = await conn.fetchval("SELECT id FROM order_rows WHERE phone_normalized = '+74951111111'")
    log_in_as(web, "oleg")
    r = web.post(f"/orders/{order_id}/rows/{row_id}/sms", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                                  "body": "Your survey is ready"},
                 follow_redirects=False)
    assert r.status_code == 303
    r = web.post(f"/orders/{order_id}/rows/{row_id}/sms", data={"csrf_token": web.cookies["pbxcrm_csrf"],
                                                                  "body": "  "})
    assert r.status_code == 400 and "write the text" in r.text
    async with db.acquire() as conn:
        sms = await conn.fetch("SELECT phone, order_id, user_id FROM sms_messages")
    assert [dict(m) for m in sms] == [{"phone": "+74951111111", "order_id": order_id, "user_id": world["oleg"]["id"]}]
    log_in_as(web, "rita")
    assert "Your survey is ready" in web.get(f"/orders/{order_id}").text


async def test_an_edit_is_saved_audited_and_a_new_url_is_read_at_once(web, world, db):
    log_in_as(web, "maria")
    order_id = _id(_save(web, {"name": "Survey", "customer_id": str(world["romashka"])},
                         file=("list.csv", CSV, "text/csv")))
    async with db.acquire() as conn:
        assert (await conn.fetchrow("SELECT next_load_at FROM orders WHERE id = $1", order_id))["next_load_at"] is None
    form = web.get(f"/orders/{order_id}/edit").text
    assert 'value="Survey"' in form
    assert _id(_save(web, {"name": "Survey 2", "customer_id": str(world["lyutik"]), "script": "Hi",
                           "source_url": "https://lists.example.com/survey.csv", "reload_minutes": "30",
                           "key_column": "Phone"}, order_id=order_id)) == order_id
    async with db.acquire() as conn:
        order = await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
        changes = await conn.fetchval("SELECT changes FROM audit_log WHERE entity = 'order' AND action = 'update'")
    assert (order["name"], order["customer_id"], order["reload_minutes"]) == ("Survey 2", world["lyutik"], 30)
    assert order["next_load_at"] is not None and order["last_digest"] == ""
    assert "Survey 2" in changes and "lists.example.com" in changes
    # The URL taken away: no more reloads.
    _save(web, {"name": "Survey 2", "customer_id": str(world["lyutik"])}, order_id=order_id)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT next_load_at FROM orders WHERE id = $1", order_id) is None
    r = _save(web, {"name": "Survey 2", "customer_id": str(world["lyutik"]), "reload_minutes": "30"},
              order_id=order_id)
    assert r.status_code == 400 and "only a list read from a URL is reloaded" in r.text


async def test_the_order_page_lists_only_the_calls_and_sms_the_user_may_see(web, world, db):
    log_in_as(web, "maria")
    order_id = _id(_save(web, {"name": "Rights", "customer_id": str(world["romashka"])},
                         file=("list.csv", CSV, "text/csv")))
    async with db.acquire() as conn:  # one call and one SMS of Oleg's, one of each of Maria's
        for number, user in (("+74957000001", world["oleg"]["id"]), ("+74957000002", world["maria"]["id"])):
            await conn.execute(
                """INSERT INTO calls (channel_id, direction, caller_number, called_number, started_at, status,
                                      caller_user_id, order_id)
                   VALUES ($1, 'outgoing', '101', $1, now(), 'answered', $2, $3)""", number, user, order_id)
            await conn.execute("INSERT INTO sms_messages (direction, phone, body, status, user_id, order_id) "
                               "VALUES ('out', $1, $2, 'queued', $3, $4)", number, f"text to {number}", user, order_id)
        # The admin's rule: operators see only the calls they took part in.
        await call_rules_q.save(conn, world["anna"]["id"], None, Rule(SEE, DENY, roles=frozenset({"operator"}),
                                                                      took_part=False, position=1))
    log_in_as(web, "oleg")  # an operator: the call rules and the SMS rights hold on the order's page too
    page = web.get(f"/orders/{order_id}").text
    assert "+74957000002" not in web.get("/calls").text  # as the calls list says
    assert "+74957000001" in page and "text to +74957000001" in page
    assert "+74957000002" not in page and "text to +74957000002" not in page
    log_in_as(web, "anna")  # an admin sees both
    page = web.get(f"/orders/{order_id}").text
    assert "text to +74957000001" in page and "text to +74957000002" in page
