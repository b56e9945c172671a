"""The admin's customers (issue 22, H9) and their users: create, rename, refuse a duplicate or an empty
name, delete only when nobody depends on it, every change audited; a user with the role customer must
name its customer (and only that role keeps one); only admins reach any of it; the order URLs switch."""

from crm.orders import customers
from tests.helpers import log_in_as, make_user


def _post(web, path, data):
    return web.post(path, data={"csrf_token": web.cookies["pbxcrm_csrf"], **data}, follow_redirects=False)


async def test_customers_crud_and_audit(web, db):
    await make_user(db, "anna", "admin")
    await make_user(db, "sveta", "supervisor")
    log_in_as(web, "anna")
    assert _post(web, "/admin/customers", {"name": "  Romashka   LLC "}).status_code == 303
    page = web.get("/admin/customers").text
    assert "Romashka LLC" in page
    r = _post(web, "/admin/customers", {"name": "romashka llc"})
    assert r.status_code == 409 and "already exists" in r.text
    r = _post(web, "/admin/customers", {"name": " "})
    assert r.status_code == 400 and "needs a name" in r.text
    async with db.acquire() as conn:
        customer_id = await conn.fetchval("SELECT id FROM customers")
    assert _post(web, f"/admin/customers/{customer_id}", {"name": "Romashka Group"}).status_code == 303
    assert "Romashka Group" in web.get("/admin/customers").text
    # A customer with a user is not deleted; without one it is (soft: its orders keep their name).
    _post(web, "/admin/users", {"login": "rita", "full_name": "Rita Customer", "password": "correct horse battery",
                                "role": "customer", "customer_id": str(customer_id)})
    r = _post(web, f"/admin/customers/{customer_id}/delete", {})
    assert r.status_code == 409 and "users or open orders" in r.text
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET deleted_at = now() WHERE login = 'rita'")
    assert _post(web, f"/admin/customers/{customer_id}/delete", {}).status_code == 303
    assert "Romashka Group" not in web.get("/admin/customers").text
    async with db.acquire() as conn:
        actions = [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity = 'customer' ORDER BY id")]
    assert actions == ["create", "update", "delete"]
    # Only admins.
    log_in_as(web, "sveta")
    assert web.get("/admin/customers").status_code == 403
    assert _post(web, "/admin/customers", {"name": "Sneaky"}).status_code == 403
    assert _post(web, "/admin/customers/private-urls", {"allowed": "1"}).status_code == 403
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM customers WHERE name = 'Sneaky'") == 0
        assert not await customers.private_urls_allowed(conn)
    log_in_as(web, "anna")
    assert _post(web, "/admin/customers/private-urls", {"allowed": "1"}).status_code == 303
    async with db.acquire() as conn:
        assert await customers.private_urls_allowed(conn)


async def test_a_customer_user_needs_its_customer(web, db):
    anna = await make_user(db, "anna", "admin")
    async with db.acquire() as conn:
        romashka = await customers.save(conn, anna["id"], None, "Romashka")
    log_in_as(web, "anna")
    form = web.get("/admin/users").text
    assert 'value="customer"' in form and "Romashka" in form
    r = _post(web, "/admin/users", {"login": "rita", "full_name": "Rita", "password": "correct horse battery",
                                    "role": "customer"})
    assert r.status_code == 400 and "needs its customer" in r.text and 'value="rita"' in r.text
    r = _post(web, "/admin/users", {"login": "rita", "full_name": "Rita", "password": "correct horse battery",
                                    "role": "customer", "customer_id": "999999"})
    assert r.status_code == 400 and "no such customer" in r.text
    r = _post(web, "/admin/users", {"login": "rita", "full_name": "Rita", "password": "correct horse battery",
                                    "role": "customer", "customer_id": str(romashka)})
    assert r.status_code == 303
    # Staff keep no customer, whatever the form says.
    assert _post(web, "/admin/users", {"login": "oleg", "full_name": "Oleg", "password": "correct horse battery",
                                       "role": "operator", "customer_id": str(romashka)}).status_code == 303
    async with db.acquire() as conn:
        users = {r["login"]: r["customer_id"] for r in await conn.fetch("SELECT login, customer_id FROM users")}
        rita = await conn.fetchval("SELECT id FROM users WHERE login = 'rita'")
    assert users == {"anna": None, "rita": romashka, "oleg": None}
    # Changing a customer's user to staff drops the customer; back to customer needs one again.
    assert _post(web, f"/admin/users/{rita}", {"full_name": "Rita", "role": "manager"}).status_code == 303
    r = _post(web, f"/admin/users/{rita}", {"full_name": "Rita", "role": "customer"})
    assert r.status_code == 400 and "needs its customer" in r.text
    assert 'selected>Romashka' not in web.get(f"/admin/users/{rita}").text
    assert _post(web, f"/admin/users/{rita}", {"full_name": "Rita", "role": "customer",
                                               "customer_id": str(romashka)}).status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchrow("SELECT role, customer_id FROM users WHERE id = $1", rita) == ("customer", romashka)
    # The customer's user logs in and sees its orders.
    log_in_as(web, "rita")
    assert web.get("/orders").status_code == 200
