"""The counterparty service against the database: contacts, duplicates, permissions, audit."""

import pytest

from crm.counterparties import service
from crm.counterparties.listing import ListQuery, list_counterparties
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.errors import Forbidden, ValidationError
from tests.helpers import make_user


def client(last, first="", patronymic="", **kw):
    return CounterpartyInput(kind="client", last_name=last, first_name=first, patronymic=patronymic, **kw)


def phone(v):
    return ContactInput("phone", v)


async def test_written_forms_of_a_phone_are_one_contact_and_the_duplicate_names_its_owner(db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        a = await service.create(conn, admin, client("Petrov", "Ivan", contacts=(phone("8 (495) 123-45-67"),)), "RU")
        for written in ["+7 495 123 45 67", "74951234567"]:
            with pytest.raises(service.DuplicateContact) as err:
                await service.create(conn, admin, client("Other", contacts=(phone(written),)), "RU")
            assert str(err.value) == f"{written} already belongs to client Petrov Ivan"
            assert err.value.owner["id"] == a
        # Nothing of the refused client was kept.
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 1
        # The same number twice in one form is refused too.
        with pytest.raises(ValidationError):
            await service.create(conn, admin, client("Twice", contacts=(phone("89161234567"), phone("+79161234567"))), "RU")


async def test_email_and_site_duplicates_ignore_case_and_decoration(db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        await service.create(conn, admin, CounterpartyInput(kind="company", company_name="Acme", contacts=(
            ContactInput("email", "Sales@Acme.ru"), ContactInput("site", "https://www.acme.ru/"))), "RU")
        for contact in [ContactInput("email", "sales@acme.RU"), ContactInput("site", "acme.ru")]:
            with pytest.raises(service.DuplicateContact, match="already belongs to company Acme"):
                await service.create(conn, admin, client("X", contacts=(contact,)), "RU")


async def test_internal_numbers_stay_short_and_bad_numbers_are_refused(db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        cid = await service.create(conn, admin, client("Desk", contacts=(phone("2045"),)), "RU")
        assert (await service.card(conn, admin, cid))["contacts"][0]["normalized"] == "2045"
        with pytest.raises(ValidationError, match="not a"):
            await service.create(conn, admin, client("Bad", contacts=(phone("call me"),)), "RU")


async def test_deleting_frees_contacts_and_keeps_the_row(db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        a = await service.create(conn, admin, client("Old", contacts=(phone("84951112233"),)), "RU")
        await service.delete(conn, admin, a)
        b = await service.create(conn, admin, client("New", contacts=(phone("+74951112233"),)), "RU")
        assert b != a
        assert await conn.fetchval("SELECT deleted_at IS NOT NULL FROM counterparties WHERE id = $1", a)
        actions = [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE entity = 'counterparty' AND entity_id = $1 ORDER BY id", a)]
        assert actions == ["create", "delete"]


async def test_managers_edit_only_their_own_or_unassigned(db):
    ivanova = await make_user(db, "ivanova", "manager")
    petrov = await make_user(db, "petrov", "manager")
    operator = await make_user(db, "olga", "operator")
    async with db.acquire() as conn:
        theirs = await service.create(conn, ivanova, client("Mine", responsible_user_id=ivanova["id"]), "RU")
        with pytest.raises(Forbidden):
            await service.update(conn, petrov, theirs, client("Stolen", responsible_user_id=petrov["id"]))
        with pytest.raises(Forbidden):
            await service.add_contact(conn, petrov, theirs, phone("84950001122"), "RU")
        with pytest.raises(Forbidden):
            await service.delete(conn, operator, theirs)
        await service.update(conn, ivanova, theirs, client("Mine", "Renamed", responsible_user_id=ivanova["id"]))
        # A manager cannot hand a client to somebody else; an unassigned one they may take.
        with pytest.raises(Forbidden):
            await service.update(conn, ivanova, theirs, client("Mine", responsible_user_id=petrov["id"]))
        free = await service.create(conn, operator, client("Free"), "RU")
        await service.update(conn, petrov, free, client("Free", responsible_user_id=petrov["id"]))
        # Everyone can read every card: a call centre answers any caller.
        assert (await service.card(conn, operator, theirs))["display_name"] == "Mine Renamed"
        assert not (await service.card(conn, operator, theirs))["can_edit"]


async def test_a_blocked_user_cannot_be_made_responsible(db):
    admin = await make_user(db, "adm", "admin")
    gone = await make_user(db, "gone", "manager")
    async with db.acquire() as conn:
        await conn.execute("UPDATE users SET is_blocked = true WHERE id = $1", gone["id"])
        with pytest.raises(ValidationError, match="responsible"):
            await service.create(conn, admin, client("X", responsible_user_id=gone["id"]), "RU")


async def _search(conn, kind, q, **kw):
    result = await list_counterparties(conn, ListQuery(kind=kind, q=q, **kw))
    return [r["display_name"] for r in result.rows]


async def test_substring_search_covers_exactly_the_e2_fields(db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        co = await service.create(conn, admin, CounterpartyInput(kind="company", company_name="Vostok Trade",
                                                                 comment="supplier of bolts"), "RU")
        await service.create(conn, admin, client("Kuznetsov", "Oleg", "Petrovich", company_ids=(co,),
                                                 comment="prefers mornings", remark="VIP",
                                                 contacts=(phone("+7 903 765-43-21"),
                                                           ContactInput("email", "oleg@kuz.example"))), "RU")
        await service.create(conn, admin, client("Smirnova", "Olga", "Ivanovna"), "RU")
        for q in ["kuzn", "OLEG", "petrov", "vostok", "mornings", "765-43", "9037654", "kuz.exa", "vip"]:
            assert await _search(conn, "client", q) == ["Kuznetsov Oleg Petrovich"], q
        assert await _search(conn, "client", "ivanovna") == ["Smirnova Olga Ivanovna"]
        assert await _search(conn, "company", "bolts") == ["Vostok Trade"]
        assert await _search(conn, "company", "kuznetsov") == []  # a member's name is not the company's
        assert await _search(conn, "client", "100%_") == []  # LIKE wildcards are literal


async def test_list_filters_sort_and_page_on_the_server(db):
    admin = await make_user(db, "adm", "admin")
    mgr = await make_user(db, "mgr", "manager", full_name="Boss")
    async with db.acquire() as conn:
        for i, last in enumerate(["Delta", "Alpha", "Charlie", "Bravo", "Echo"]):
            await service.create(conn, admin, client(last, status="active" if i % 2 == 0 else "potential",
                                                     responsible_user_id=mgr["id"] if i < 2 else None), "RU")
        assert await _search(conn, "client", "") == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
        assert await _search(conn, "client", "", descending=True, size=2, page=2) == ["Charlie", "Bravo"]
        assert await _search(conn, "client", "", status="potential") == ["Alpha", "Bravo"]
        assert await _search(conn, "client", "", responsible_id=mgr["id"]) == ["Alpha", "Delta"]
        assert await _search(conn, "client", "", responsible_id=0) == ["Bravo", "Charlie", "Echo"]
        # An unknown sort column falls back to the name: nothing reaches SQL unlisted.
        assert await _search(conn, "client", "", sort="1; DROP TABLE users") == ["Alpha", "Bravo", "Charlie",
                                                                                  "Delta", "Echo"]
        result = await list_counterparties(conn, ListQuery(kind="client", size=2))
        assert result.total == 5 and len(result.rows) == 2


async def test_search_text_follows_contacts_membership_and_company_renames(db):
    admin = await make_user(db, "adm", "admin")
    async with db.acquire() as conn:
        co = await service.create(conn, admin, CounterpartyInput(kind="company", company_name="Zarya"), "RU")
        cl = await service.create(conn, admin, client("Lis", "Ada"), "RU")
        assert await _search(conn, "client", "zarya") == []
        await service.join_company(conn, admin, cl, co)
        assert await _search(conn, "client", "zarya") == ["Lis Ada"]
        await service.update(conn, admin, co, CounterpartyInput(kind="company", company_name="Rassvet"))
        assert await _search(conn, "client", "zarya") == []
        assert await _search(conn, "client", "rassvet") == ["Lis Ada"]
        await service.add_contact(conn, admin, cl, phone("8 800 100-20-30"), "RU")
        assert await _search(conn, "client", "100-20") == ["Lis Ada"]
        contact_id = (await service.card(conn, admin, cl))["contacts"][0]["id"]
        await service.remove_contact(conn, admin, contact_id)
        assert await _search(conn, "client", "100-20") == []
        await service.join_company(conn, admin, cl, co, leave=True)
        assert await _search(conn, "client", "rassvet") == []


async def test_demo_data_writes_the_same_search_text_as_the_database_would(db):
    from crm.demo_data import seed

    async with db.acquire() as conn:
        result = await seed(conn, 300, seed_value=7)
        assert result.clients == 300 and result.companies == 30
        assert await conn.fetchval("SELECT count(*) FROM counterparties") == 330
        drift = await conn.fetchval(
            "SELECT count(*) FROM counterparties c WHERE search_text <> counterparty_search_text(c)")
        assert drift == 0
        assert await conn.fetchval("SELECT current_setting('pbxcrm.bulk_load', true)") in ("", None)
        phones = await conn.fetchval("SELECT count(*) FROM contacts WHERE kind = 'phone'")
        assert phones == result.phones and phones > 300
