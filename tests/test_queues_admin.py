"""Queues in the CRM: admin pages, counterparty routing choice, the call path's lookup."""

import pytest

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.queues import queries as queues_q
from crm.routing.queries import load_policy, lookup_caller
from tests.helpers import login, make_user


async def test_admin_defines_a_queue_with_members_and_strategy(web, db):
    await make_user(db, "adm", "admin")
    petrov = await make_user(db, "petrov", "operator", full_name="Pavel Petrov", extension="103")
    sidorova = await make_user(db, "sidorova", "operator", full_name="Sveta Sidorova", extension="104")
    login(web, "adm")
    token = web.cookies["pbxcrm_csrf"]
    r = web.post("/admin/queues", data={
        "csrf_token": token, "name": "Purchasing", "strategy": "roundrobin", "ring_seconds": "10",
        "max_wait_seconds": "60", "moh_class": "default", "member_ids": [str(sidorova["id"]), str(petrov["id"])]},
        follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        queues = {q.name: q for q in await queues_q.list_queues(conn)}
    purchasing = queues["Purchasing"]
    assert (purchasing.strategy, purchasing.ring_seconds, purchasing.max_wait_seconds) == ("roundrobin", 10, 60)
    assert [m.extension for m in purchasing.members] == ["104", "103"]
    page = web.get("/admin/queues").text
    assert "Purchasing" in page and "round robin" in page and "Sveta Sidorova (104)" in page

    bad = web.post("/admin/queues", data={"csrf_token": token, "name": "purchasing", "strategy": "ringall",
                                             "ring_seconds": "10", "max_wait_seconds": "60"})
    assert bad.status_code == 409 and "exists already" in bad.text
    bad = web.post("/admin/queues", data={"csrf_token": token, "name": "X", "strategy": "random",
                                             "ring_seconds": "1", "max_wait_seconds": "60"})
    assert bad.status_code == 400
    default = queues["Default"]
    r = web.post(f"/admin/queues/{default.id}/delete", data={"csrf_token": token})
    assert r.status_code == 409 and "cannot be deleted" in r.text

    r = web.post("/admin/routing", data={"csrf_token": token, "manager_ring_seconds": "25"},
                    follow_redirects=False)
    assert r.status_code == 303
    async with db.acquire() as conn:
        assert (await load_policy(conn)).manager_ring_seconds == 25


async def test_queues_are_admin_only(web, db):
    await make_user(db, "mgr", "manager")
    login(web, "mgr")
    assert web.get("/admin/queues").status_code == 403
    r = web.post("/admin/queues", data={"csrf_token": web.cookies["pbxcrm_csrf"], "name": "Sneaky"})
    assert r.status_code == 403


async def test_lookup_follows_client_then_company_then_tag_queues(db):
    admin = await make_user(db, "adm", "admin")
    mgr = await make_user(db, "mgr", "manager", full_name="Mila Manager", extension="105")
    async with db.acquire() as conn:
        sales = await queues_q.save_queue(conn, admin["id"], None, _queue("Sales"))
        purchasing = await queues_q.save_queue(conn, admin["id"], None, _queue("Purchasing"))
        vip = await queues_q.save_queue(conn, admin["id"], None, _queue("VIP"))
        company = await service.create(conn, admin, CounterpartyInput(kind="company", company_name="Vostok",
                                                                      queue_id=sales), "RU")
        cid = await service.create(conn, admin, CounterpartyInput(
            kind="client", last_name="Lis", responsible_user_id=mgr["id"], company_ids=(company,),
            contacts=(ContactInput("phone", "8 (812) 555-00-11"),)), "RU")
        tag = await conn.fetchval("INSERT INTO tags (name, queue_id) VALUES ('Supplier', $1) RETURNING id", vip)
        await conn.execute("INSERT INTO counterparty_tags VALUES ($1, $2)", cid, tag)

        facts = await lookup_caller(conn, "+78125550011")
        assert facts.manager.extension == "105" and facts.manager.active
        assert facts.company_queue[0] == "Vostok" and facts.company_queue[1].name == "Sales"
        assert facts.tag_queue[0] == "Supplier" and facts.tag_queue[1].name == "VIP"
        assert facts.own_queue is None
        await service.update(conn, admin, cid, CounterpartyInput(kind="client", last_name="Lis",
                                                                 responsible_user_id=mgr["id"], queue_id=purchasing))
        assert (await lookup_caller(conn, "+78125550011")).own_queue.name == "Purchasing"
        assert await lookup_caller(conn, "+70000000000") is None
        with pytest.raises(Exception, match="no such queue"):
            await service.update(conn, admin, cid, CounterpartyInput(kind="client", last_name="Lis", queue_id=999999))


def _queue(name):
    from crm.queues.model import QueueInput
    return QueueInput(name=name)
