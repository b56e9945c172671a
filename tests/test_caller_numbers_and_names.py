"""Caller numbers and names on the wire (issue 12): a `00` caller ID finds its client, a number
stored with an extension still takes the call, and the client's name reaches the phone whole."""


from crm.calls.route import route_text
from tests.helpers import finished_call
from tests.telephony import SippPhone, sipp_call, wait_for

CALLED = "74957654321"


async def test_a_caller_id_with_00_reaches_the_manager_of_the_client(crm, db, start_stasis_app, tmp_path):
    app = await start_stasis_app()
    async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
        result = await sipp_call(caller="0074951234567", called=CALLED, talk_ms=1000)
        assert result.returncode == 0, result.output + app.log_text()
        assert ivanova_phone.invites() and ivanova_phone.invites()[0].startswith('"Sokolov Ivan" <sip:0074951234567@')
    row = await wait_for(lambda: finished_call(db, "0074951234567"))
    assert row["caller_normalized"] == "+74951234567"
    assert row["counterparty_id"] == crm["client"] and row["operator_user_id"] == crm["ivanova"]["id"]
    assert route_text(row["route"]) == "manager Irina Ivanova answered"


async def test_a_number_stored_with_an_extension_takes_the_call_from_the_main_number(
        crm, db, start_stasis_app, tmp_path):
    async with db.acquire() as conn:
        await conn.execute("UPDATE contacts SET extension = '123' WHERE counterparty_id = $1", crm["client"])
    app = await start_stasis_app()
    async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
        result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=1000)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(ivanova_phone.invites()) == 1
    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row["counterparty_id"] == crm["client"] and row["operator_user_id"] == crm["ivanova"]["id"]


async def test_the_clients_name_reaches_the_phone_whole_quotes_escaped(crm, db, start_stasis_app, tmp_path):
    name = 'O\'Brien "Bob" <x> \\ Konstantinopolsky-Rimsky-Korsakov'
    async with db.acquire() as conn:
        await conn.execute("UPDATE counterparties SET last_name = $1 WHERE id = $2", name, crm["client"])
    app = await start_stasis_app()
    async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
        result = await sipp_call(caller="84951234567", called=CALLED, talk_ms=1000)
        assert result.returncode == 0, result.output + app.log_text()
        invites = ivanova_phone.invites()
    # RFC 3261 quoted-string: \" and \\ escaped, < and > as they are, nothing cut.
    expected = '"O\'Brien \\"Bob\\" <x> \\\\ Konstantinopolsky-Rimsky-Korsakov Ivan" <sip:84951234567@'
    assert invites and invites[0].startswith(expected), (invites, app.log_text()[-2000:])
