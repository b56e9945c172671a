"""Excel import (A8, K2, H8): rows checked first, valid ones applied or none, hostile files refused."""

import datetime as dt
import io
import os
import zipfile

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.helpers import XLSX, login, make_user, upload, workbook


async def test_a_thousand_rows_ten_bad_make_990_clients_and_a_report(web, db):
    boss = await make_user(db, "boss", "supervisor")
    await make_user(db, "ivanova", "manager")
    async with db.acquire() as conn:
        await service.create(conn, boss, CounterpartyInput(kind="client", last_name="Existing",
                                                           contacts=(ContactInput("phone", "+7 903 000-00-01"),)), "RU")
        await service.create(conn, boss, CounterpartyInput(kind="company", company_name="Vostok"), "RU")
    header = ["Last name", "First name", "Patronymic", "Member of", "Phones", "E-mails", "Responsible", "Remark"]
    rows, bad = [], {}
    for i in range(1000):
        row = [f"Client{i:04d}", "Ivan", "Petrovich", "Vostok" if i % 3 == 0 else None,
               f"8 916 {i:07d}", f"c{i}@example.test", "ivanova" if i % 2 else None, "imported"]
        line = i + 2
        if i in (10, 20, 30):
            row[4], bad[line] = "call me", "not a phone number"
        elif i in (40, 50, 60):
            row[0] = row[1] = row[2] = None
            bad[line] = "a last or a first name is needed"
        elif i in (70, 80):
            row[4], bad[line] = "8 (903) 000-00-01", "already belongs to Existing"
        elif i == 90:
            row[4], bad[line] = "8 916 0000089", "also on row 91 of this file"
        elif i == 100:
            row[6], bad[line] = "nobody", "no active user with login 'nobody'"
        rows.append(row)
    content = workbook(header, rows)
    login(web, "boss")
    job = upload(web, content)
    assert job["status"] == "done" and job["total"] == 1000 and job["applied"] == 990, job
    rejected = {r["row"]: r["reason"] for r in job["rejected"]}
    assert set(rejected) == set(bad)
    for line, reason in bad.items():
        assert reason in rejected[line], (line, rejected[line])
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties WHERE kind = 'client'") == 991
        member = await conn.fetchval("""SELECT count(*) FROM company_members m JOIN counterparties c
                                        ON c.id = m.company_id WHERE c.company_name = 'Vostok'""")
        assert member == sum(1 for i in range(0, 1000, 3) if i not in (30, 60, 90))
        assert await conn.fetchval("SELECT count(*) FROM contacts WHERE kind = 'email'") == 990
    page = web.get(f"/import/{job['id']}").text
    assert "990 imported, 10 rejected" in page and "already belongs to Existing" in page

    # The same file in all-or-nothing mode changes nothing: every row is now a duplicate.
    again = upload(web, content, mode="all_or_nothing")
    assert again["applied"] == 0 and again["message"].startswith("nothing imported: 1000 rows")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties WHERE kind = 'client'") == 991


async def test_all_or_nothing_applies_nothing_when_one_row_is_bad(web, db):
    await make_user(db, "boss", "supervisor")
    login(web, "boss")
    job = upload(web, workbook(["Last name", "Phones"], [["Good", "8 916 111-22-33"], ["Bad", "nope"]]),
                 mode="all_or_nothing")
    assert job["applied"] == 0 and job["rejected"] == [{"row": 3, "reason": job["rejected"][0]["reason"]}]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 0


async def test_hostile_files_are_refused_with_a_clear_message(web, db, tmp_path):
    await make_user(db, "boss", "supervisor")
    login(web, "boss")
    assert "not an Excel .xlsx file" in upload(web, b"name,phone\nIvan,123\n", name="clients.csv")["message"]
    formula = workbook(["Last name", "Phones"], [["=HYPERLINK(\"http://evil\")", "8 916 111-22-33"]])
    assert "formulas are not accepted (cell A2)" in upload(web, formula)["message"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):  # 300 MB of zeros, a few hundred KB packed
                member.write(chunk)
    job = upload(web, bomb.getvalue())
    assert job["status"] == "refused" and "zip bomb" in job["message"]
    big = os.urandom(21 * 1024 * 1024)
    r = web.post("/import", files={"file": ("big.xlsx", big, XLSX)},
                 data={"csrf_token": web.cookies["pbxcrm_csrf"], "kind": "counterparties", "mode": "valid"})
    assert r.status_code == 413 and "too big" in r.text
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 0


async def test_a_call_list_becomes_scheduled_calls(web, db):
    boss = await make_user(db, "boss", "supervisor")
    ivanova = await make_user(db, "ivanova", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, boss, CounterpartyInput(
            kind="client", last_name="Sokolov", contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
    login(web, "boss")
    job = upload(web, workbook(["Number", "Counterparty", "When", "Responsible", "Note"], [
        ["8 (495) 123-45-67", None, dt.datetime(2026, 12, 1, 10, 30), "ivanova", "offer the new tariff"],
        ["+7 916 555-00-11", "New lead", "02.12.2026 15:00", None, None],
        ["+7 916 555-00-12", "Lead", "someday", None, None]]), kind="call_list")
    assert job["applied"] == 2 and [r["row"] for r in job["rejected"]] == [4]
    async with db.acquire() as conn:
        tasks = await conn.fetch("""SELECT t.*, tt.name AS type FROM tasks t JOIN task_types tt ON tt.id = t.type_id
                                    ORDER BY t.id""")
    assert [t["type"] for t in tasks] == ["Scheduled call", "Scheduled call"]
    assert tasks[0]["title"] == "Call Sokolov" and tasks[0]["counterparty_id"] == client
    assert tasks[0]["responsible_user_id"] == ivanova["id"]
    assert (tasks[0]["deadline_date"], tasks[0]["deadline_time"]) == (dt.date(2026, 12, 1), dt.time(10, 30))
    assert tasks[1]["title"] == "Call New lead" and tasks[1]["responsible_user_id"] == boss["id"]
    assert "offer the new tariff" in tasks[0]["remark"]


async def test_import_reads_every_contact_kind_addresses_tags_manager_and_status(db, web):
    """Issue 20 (A8): each contact kind, addresses, tags (those the importer may use), responsible, status."""
    from crm.tags import TagInput, save_tag

    admin = await make_user(db, "adm", "admin")
    ivanova = await make_user(db, "ivanova", "manager")
    async with db.acquire() as conn:
        await save_tag(conn, admin["id"], None, TagInput("Wholesale"))
        await save_tag(conn, admin["id"], None, TagInput("Secret", allowed_roles=("supervisor",)))
    login(web, "adm")
    header = ["Last name", "Phones", "E-mail", "Site", "Skype", "Fax", "Social", "Messenger", "Addresses", "Tags",
              "Manager", "Status"]
    job = upload(web, workbook(header, [
        ["Belov", "8 916 111-22-33", "b@belov.ru", "belov.ru", "belov.skype", "8 495 111-22-33", "vk.com/belov",
         "@belov", "Tver, Lenina 5; Moscow, Arbat 1", "wholesale", "ivanova", "potential"],
        ["Orlov", "", "", "", "", "", "", "", "", "Nonexistent", "", ""],
        ["Popov", "", "", "", "", "", "", "", "", "Secret", "", ""]]))
    assert job["applied"] == 1, job
    assert [r["row"] for r in job["rejected"]] == [3, 4]
    assert all("that you may use" in r["reason"] for r in job["rejected"])
    async with db.acquire() as conn:
        card = await conn.fetchrow("SELECT id, status, responsible_user_id FROM counterparties")
        kinds = sorted(r["kind"] for r in await conn.fetch("SELECT kind FROM contacts"))
        addresses = sorted(r["address"] for r in await conn.fetch("SELECT address FROM addresses"))
        tagged = await conn.fetchval("SELECT t.name FROM counterparty_tags ct JOIN tags t ON t.id = ct.tag_id")
    assert (card["status"], card["responsible_user_id"]) == ("potential", ivanova["id"])
    assert kinds == ["email", "fax", "messenger", "phone", "site", "skype", "social"]
    assert addresses == ["Moscow, Arbat 1", "Tver, Lenina 5"]
    assert tagged == "Wholesale"
