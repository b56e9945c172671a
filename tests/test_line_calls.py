"""A line for real (issue 15): sipp dials a DID through the sandbox Asterisk; the line sends the call
to a user, whose sipp phone rings, and the call row names the line."""

from crm.calls.route import route_text
from crm.lines import queries as lines_q
from crm.lines.model import LineInput
from tests.helpers import finished_call, make_user
from tests.telephony import SippPhone, sipp_call, wait_for

DID = "74955550104"


async def test_a_call_to_a_did_mapped_to_a_user_rings_that_users_phone(crm, db, start_stasis_app, tmp_path):
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        line = await lines_q.save_line(conn, crm["ivanova"]["id"], None, LineInput(
            name="Lebedev direct", trunk="trunk", did=DID, route_kind="user", route_user_id=lebedev["id"]))
    app = await start_stasis_app()
    async with SippPhone("104", "phone_answer.xml", tmp_path) as lebedev_phone, \
            SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
        # Ivanova's client calls: without the line, her phone would ring.
        result = await sipp_call(caller="84951234567", called=DID, talk_ms=2000)
        assert result.returncode == 0, result.output + app.log_text()
        assert len(lebedev_phone.invites()) == 1 and lebedev_phone.invites()[0].startswith('"Sokolov Ivan"')
        assert ivanova_phone.invites() == []
    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row is not None, app.log_text()
    assert (row["line_id"], row["line"], row["called_number"]) == (line, "PJSIP/trunk", DID)
    assert row["status"] == "answered" and row["operator_user_id"] == lebedev["id"]
    assert row["counterparty_id"] == crm["client"]
    assert route_text(row["route"]) == "user Oleg Lebedev answered"
