"""An operator attaches an unknown caller's call to a client: the number joins the card (A7)."""


from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from crm.routing.queries import lookup_caller
from tests.helpers import login, make_user


async def _call_from(conn, number, normalized, operator_id):
    """A call from an unknown number that this operator answered: she may attach it (issue 12)."""
    return await conn.fetchval(
        """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, started_at, status,
                              operator_user_id)
           VALUES ($1, 'incoming', $2, $3, now(), 'answered', $4) RETURNING id""",
        f"ch-{number}", number, normalized, operator_id)


async def test_attaching_a_call_learns_the_number_and_the_next_call_is_recognised(web, db):
    op = await make_user(db, "olga", "operator")
    async with db.acquire() as conn:
        client = await service.create(conn, op, CounterpartyInput(
            kind="client", last_name="Sokolov", contacts=(ContactInput("phone", "+7 495 123-45-67"),)), "RU")
        other = await service.create(conn, op, CounterpartyInput(
            kind="client", last_name="Other", contacts=(ContactInput("phone", "+7 916 000-00-01"),)), "RU")
        new_mobile = await _call_from(conn, "89035556677", "+79035556677", op["id"])
        taken = await _call_from(conn, "89160000001", "+79160000001", op["id"])
        assert await lookup_caller(conn, "+79035556677") is None
    login(web, "olga")
    h = {"x-csrf-token": web.cookies["pbxcrm_csrf"]}
    r = web.post(f"/api/calls/{new_mobile}/counterparty", json={"counterparty_id": client}, headers=h)
    assert r.status_code == 200 and r.json()["number"] == "89035556677 added to the card"
    card = web.get(f"/api/counterparties/{client}").json()
    learned = [c for c in card["contacts"] if c["normalized"] == "+79035556677"]
    assert learned and learned[0]["auto_added"] is True
    async with db.acquire() as conn:
        assert (await lookup_caller(conn, "+79035556677")).counterparty_id == client
        assert await conn.fetchval("SELECT counterparty_id FROM calls WHERE id = $1", new_mobile) == client
    # A number that belongs to someone else is not moved: the call is attached, the number stays.
    r = web.post(f"/api/calls/{taken}/counterparty", json={"counterparty_id": client}, headers=h)
    assert r.json()["number"] == "89160000001 belongs to Other; not added"
    async with db.acquire() as conn:
        assert (await lookup_caller(conn, "+79160000001")).counterparty_id == other
    assert "learned from a call" in web.get(f"/counterparties/{client}").text
    assert web.post("/api/calls/999999/counterparty", json={"counterparty_id": client}, headers=h).status_code == 404
