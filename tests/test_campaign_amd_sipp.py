"""Answering-machine detection through the dialer, on the sandbox (issue 22, Done-when): a campaign with
AMD on sends each answered call through AMD() ([pbxcrm-campaign-amd]). A sipp client playing a long
greeting is classified a machine and handled as the campaign says: hung up (outcome machine, no agent
rung) or given to an agent; a person's short "hello" is bridged to the agent."""

from __future__ import annotations

from tests.amd_calls import trunk_client
from tests.call_flow_support import no_recording
from tests.campaign_support import attempts, eventually, make_campaign
from tests.helpers import make_user
from tests.telephony import SippPhone, ari_delete

NUMBER = "+74951000010"


async def _ended_or_hung_up_once_bridged(db, campaign_id: int):
    """The attempt's outcome; a person's call is bridged and talks on: the test hangs the client up."""
    rows = await attempts(db, campaign_id)
    for row in rows:
        if row["bridged_at"] and not row["outcome"]:
            await ari_delete(f"/channels/{row['channel_id']}")
    return rows if rows and all(r["outcome"] for r in rows) else None


async def _run(db, start_stasis_app, tmp_path, greeting: str, machine_action: str):
    await no_recording(db)
    agent = await make_user(db, "anna", "operator", full_name="Anna", extension="102")
    app = await start_stasis_app(PBXCRM_RECORDINGS_DIR=str(tmp_path / "rec"))
    async with trunk_client(greeting, tmp_path / "trunk"), SippPhone("102", "phone_answer.xml", tmp_path) as phone:
        campaign = await make_campaign(db, author_id=agent["id"], agents=[agent["id"]], numbers=[NUMBER], amd=True,
                                       machine_action=machine_action, ring_seconds=10)
        try:
            [row] = await eventually(lambda: _ended_or_hung_up_once_bridged(db, campaign), timeout=25,
                                     what="the attempt's outcome")
        except AssertionError:
            print(app.log_text()[-6000:])
            raise
        agent_rung = "INVITE sip:102@" in phone.messages.read_text(errors="replace")
    return agent["id"], row, agent_rung


async def test_a_long_greeting_is_a_machine_and_hung_up_as_the_campaign_says(db, start_stasis_app, tmp_path):
    _, row, agent_rung = await _run(db, start_stasis_app, tmp_path, "machine", "hangup")
    assert (row["outcome"], row["amd_status"]) == ("machine", "MACHINE"), dict(row)
    assert row["amd_cause"].startswith("LONGGREETING") and row["agent_user_id"] is None and not agent_rung


async def test_a_person_is_bridged_to_the_agent(db, start_stasis_app, tmp_path):
    agent_id, row, agent_rung = await _run(db, start_stasis_app, tmp_path, "human", "hangup")
    assert (row["outcome"], row["amd_status"], row["agent_user_id"]) == ("answered", "HUMAN", agent_id), dict(row)
    assert row["answered_at"] <= row["bridged_at"] and agent_rung
