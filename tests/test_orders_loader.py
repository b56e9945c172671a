"""An order's call list from a file or a URL (issue 22, H9): parsed (pure), stored keyed by row_key so
a reload updates only what changed, read from a loopback HTTP server (the admin's switch allows it; off,
the SSRF guard refuses it), and every way a URL can fail leaves the rows as they were and says why."""

import asyncio
import datetime as dt
import json

import pytest
from aiohttp import web as aioweb

from crm.orders import customers, loader, sources
from crm.orders.sources import SourceError
from tests.helpers import make_user, workbook

CSV = "Id;Phone;Name;City\n1;+7 495 111-11-11;Ivanov;Moscow\n2;+7 495 222-22-22;Petrov;Tver\n3;+7 495 333-33-33;Sidorov;Omsk\n"


# ---- pure ----

def test_parse_reads_phones_keys_and_problems():
    header = ["ID", "Телефон", "ФИО"]
    parsed = loader.parse(header, [(2, ["a", "8 495 111-11-11", "Ivanov"]), (3, ["b", "garbage", "Petrov"]),
                                   (4, ["a", "+7 495 999-99-99", "Again"])], key_column="id", region="RU")
    assert [r.key for r in parsed.rows] == ["a", "b"] and parsed.duplicates == 1
    assert parsed.rows[0].normalized == "+74951111111" and parsed.rows[0].name == "Ivanov"
    assert parsed.rows[0].data == {"ID": "a", "Телефон": "8 495 111-11-11", "ФИО": "Ivanov"}
    assert parsed.rows[1].normalized is None and parsed.rows[1].problem
    # Without a key column the phone names the row.
    by_phone = loader.parse(header, [(2, ["a", "8 495 111-11-11", "x"])], key_column="", region="RU")
    assert by_phone.rows[0].key == "+74951111111"
    with pytest.raises(SourceError, match="Phone"):
        loader.parse(["Name"], [(2, ["x"])], key_column="", region="RU")
    with pytest.raises(SourceError, match="Code"):
        loader.parse(header, [(2, ["a", "1", "x"])], key_column="Code", region="RU")


def test_tables_are_csv_or_xlsx_and_nothing_else():
    header, rows = sources.read_table(CSV.encode("cp1251"))
    assert header == ["Id", "Phone", "Name", "City"] and len(rows) == 3
    header, rows = sources.read_table(workbook(["Phone", "Name"], [["+74951111111", "Ivanov"]]))
    assert header == ["Phone", "Name"] and rows[0][1][1] == "Ivanov"
    for garbage, why in ((b"", "empty"), (b"<html><body>Login</body></html>", "web page"),
                         (b"PK\x03\x04broken", "Excel"), (b"\x00\x01\x02" * 100, "neither")):
        with pytest.raises(SourceError, match=why):
            sources.read_table(garbage)


def test_urls_are_checked_and_private_addresses_refused():
    assert sources.check_url(" https://example.com/list.csv ") == "https://example.com/list.csv"
    assert sources.check_url("") == ""
    for bad in ("file:///etc/passwd", "ftp://example.com/x", "gopher://x", "http://", "http://u:p@example.com/",
                "http://example.com:99999/", "javascript:alert(1)"):
        with pytest.raises(SourceError):
            sources.check_url(bad)
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "::1", "fe80::1",
                    "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1"):
        assert not sources.address_allowed(address, False), address
    assert sources.address_allowed("8.8.8.8", False) and sources.address_allowed("2a00:1450::1", False)
    assert sources.address_allowed("127.0.0.1", True) and not sources.address_allowed("0.0.0.0", True)


# ---- through a loopback HTTP server ----

class ListServer:
    """Serves `body` at /list; `status`, `delay` and `length` make it fail in the ways servers do."""

    def __init__(self):
        self.body = CSV.encode()
        self.status = 200
        self.delay = 0.0
        self.redirect_to = ""

    async def handle(self, request):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.redirect_to:
            raise aioweb.HTTPFound(self.redirect_to)
        return aioweb.Response(body=self.body, status=self.status, content_type="text/csv")


@pytest.fixture
async def list_server():
    server = ListServer()
    app = aioweb.Application()
    app.router.add_get("/list", server.handle)
    runner = aioweb.AppRunner(app)
    await runner.setup()
    site = aioweb.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}/list"
    server.named_url = f"http://localhost:{port}/list"
    yield server
    await runner.cleanup()


@pytest.fixture
async def order(db, list_server):
    admin = await make_user(db, "anna", "admin")
    async with db.acquire() as conn:
        customer_id = await customers.save(conn, admin["id"], None, "Romashka LLC")
        order_id = await conn.fetchval(
            """INSERT INTO orders (customer_id, name, source_url, reload_minutes, key_column, next_load_at)
               VALUES ($1, 'Winter survey', $2, 60, 'Id', now()) RETURNING id""", customer_id, list_server.url)
    return {"id": order_id, "admin": admin}


async def _order(conn, order_id):
    return await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)


async def _rows(conn, order_id):
    return {r["row_key"]: r for r in await conn.fetch("SELECT * FROM order_rows WHERE order_id = $1", order_id)}


async def _allow(conn, admin):
    await customers.set_private_urls(conn, admin["id"], True)


async def test_a_reload_with_one_row_changed_updates_that_row_only(db, order, list_server):
    async with db.acquire() as conn:
        # The admin's switch is off: the loopback URL is refused, and the order says so.
        with pytest.raises(SourceError, match="local or private"):
            await loader.reload(conn, await _order(conn, order["id"]), "RU")
        assert "local or private" in (await _order(conn, order["id"]))["last_error"]
        assert await _rows(conn, order["id"]) == {}
        await _allow(conn, order["admin"])
        counts = await loader.reload(conn, await _order(conn, order["id"]), "RU")
        assert counts == {"rows": 3, "added": 3, "changed": 0, "removed": 0, "invalid": 0, "duplicates": 0}
        first = await _rows(conn, order["id"])
        assert first["2"]["name"] == "Petrov" and first["2"]["phone_normalized"] == "+74952222222"
        assert (await _order(conn, order["id"]))["last_error"] == ""
        await asyncio.sleep(0.01)

        list_server.body = CSV.replace("Petrov;Tver", "Petrova;Tver").encode()
        counts = await loader.reload(conn, await _order(conn, order["id"]), "RU")
        assert counts["changed"] == 1 and counts["added"] == 0 and counts["removed"] == 0
        second = await _rows(conn, order["id"])
        assert {k: r["id"] for k, r in second.items()} == {k: r["id"] for k, r in first.items()}
        assert second["2"]["name"] == "Petrova" and json.loads(second["2"]["data"])["Name"] == "Petrova"
        assert second["2"]["updated_at"] > first["2"]["updated_at"]
        for key in ("1", "3"):
            assert second[key]["updated_at"] == first[key]["updated_at"] and second[key]["data"] == first[key]["data"]

        # A row gone is marked (kept), a new one added; none duplicated.
        list_server.body = (CSV.replace("Petrov;Tver", "Petrova;Tver").replace("3;+7 495 333-33-33;Sidorov;Omsk",
                                                                                "4;+7 495 444-44-44;Kuznetsov;Ufa")
                            ).encode()
        counts = await loader.reload(conn, await _order(conn, order["id"]), "RU")
        assert (counts["added"], counts["changed"], counts["removed"]) == (1, 0, 1)
        third = await _rows(conn, order["id"])
        assert len(third) == 4 and third["3"]["removed_at"] is not None and third["4"]["removed_at"] is None
        assert third["3"]["id"] == first["3"]["id"]


async def test_a_failing_url_keeps_the_rows_and_says_why(db, order, list_server):
    async with db.acquire() as conn:
        await _allow(conn, order["admin"])
        await loader.reload(conn, await _order(conn, order["id"]), "RU")
        before = await _rows(conn, order["id"])
        loaded_at = (await _order(conn, order["id"]))["last_loaded_at"]

        async def fails(why, **kw):
            with pytest.raises(SourceError, match=why):
                await loader.reload(conn, await _order(conn, order["id"]), "RU", **kw)
            after = await _order(conn, order["id"])
            assert why in after["last_error"] or why.lower() in after["last_error"].lower()
            assert after["last_loaded_at"] == loaded_at
            assert await _rows(conn, order["id"]) == before

        list_server.status = 500
        await fails("answered 500")
        list_server.status, list_server.body = 200, b"<!doctype html><title>Sign in</title>"
        await fails("web page")
        list_server.body = b"Name;City\nIvanov;Moscow\n"
        await fails("Phone")
        list_server.body = CSV.encode().splitlines(keepends=True)[0]  # the header alone: an export gone wrong
        await fails("no rows")
        list_server.body, list_server.delay = CSV.encode(), 2.0
        await fails("did not answer", timeout=0.5)
        list_server.delay = 0
        # A redirect is checked again: no file:// or other schemes.
        list_server.redirect_to = "file:///etc/passwd"
        await fails("only http")
        list_server.redirect_to = ""
        await customers.set_private_urls(conn, order["admin"]["id"], False)
        await fails("local or private")
        with pytest.raises(SourceError, match="local or private"):  # by name too: localhost resolves to loopback
            await sources.fetch(list_server.named_url, allow_private=False)
    with pytest.raises(SourceError, match="larger"):
        await sources.fetch(list_server.url, allow_private=True, max_bytes=10)


async def test_an_xlsx_url_and_the_due_reloads(db, order, list_server):
    list_server.body = workbook(["Id", "Phone", "Name"], [["7", "+74957777777", "Orlov"]])
    async with db.acquire() as conn:
        await _allow(conn, order["admin"])
    now = dt.datetime.now(dt.timezone.utc)
    assert await loader.reload_due(db, now, "RU") == 1
    async with db.acquire() as conn:
        rows = await _rows(conn, order["id"])
        assert list(rows) == ["7"] and rows["7"]["name"] == "Orlov"
        assert (await _order(conn, order["id"]))["next_load_at"] > now + dt.timedelta(minutes=59)
    # Not due again until its period has passed; the same body is not parsed again.
    assert await loader.reload_due(db, now, "RU") == 0
    async with db.acquire() as conn:
        updated = rows["7"]["updated_at"]
        await loader.reload(conn, await _order(conn, order["id"]), "RU")
        assert (await _rows(conn, order["id"]))["7"]["updated_at"] == updated
