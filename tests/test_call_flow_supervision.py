"""Listen-in, whisper and barge through the fake ARI (see test_call_flow.py): the web's request (a
row and a NOTIFY) rings the supervisor's phone; answered, it joins by POST /channels/{id}/snoop on
the operator's leg (as the ARI documents it: spy, whisper, app, appArgs, snoopId) in a bridge of its
own, or by the call's bridge. Whatever ends first - the supervisor, the call - nothing is left: the
phone and the snoop hung up, the supervision bridge destroyed; the call's row and legs are the call's."""

from __future__ import annotations

import asyncio

from crm.supervision import queries as supervision_q
from crm.supervision.requests import ask
from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    bridged,
    ended_row,
    fake,
    spec,
    start_app,
)
from tests.helpers import make_user


async def _sergeeva(db, fake):
    fake.add_phone("107")
    return await make_user(db, "sergeeva", "supervisor", full_name="Sofia Sergeeva", extension="107")


async def _talking_to_ivanova(fake) -> tuple[str, str]:
    caller = await fake.incoming(CLIENT)
    leg = (await fake.next_originate("PJSIP/102")).query["channelId"]
    await fake.answer(leg)
    await fake.wait_for(lambda: bridged(fake, caller), what="caller and Ivanova bridged")
    return caller, leg


async def _ask(db, supervisor, caller: str, mode: str) -> int:
    """As the web asks, once the call log says Ivanova talks (the app writes it behind the call)."""
    call_id = await _written_talking(db, caller)
    async with db.acquire() as conn:
        return await ask(conn, supervisor, call_id, mode, may_listen=True)


async def _written_talking(db, caller: str) -> int:
    deadline = asyncio.get_running_loop().time() + 3
    while True:
        async with db.acquire() as conn:
            call_id = await conn.fetchval(
                """SELECT c.id FROM calls c JOIN call_legs l ON l.call_id = c.id AND l.ended_at IS NULL
                   WHERE c.channel_id = $1 AND c.answered_at IS NOT NULL""", caller)
        if call_id is not None:
            return call_id
        assert asyncio.get_running_loop().time() < deadline, "the call log never said Ivanova talks"
        await asyncio.sleep(0.01)


async def _request(db, request_id: int):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM supervision_requests WHERE id = $1", request_id)


async def _status_becomes(fake, db, request_id: int, status: str):
    async def check():
        row = await _request(db, request_id)
        return row if row["status"] == status else None
    deadline = asyncio.get_running_loop().time() + 3
    while (row := await check()) is None:
        assert asyncio.get_running_loop().time() < deadline, (await _request(db, request_id))["status"]
        await asyncio.sleep(0.01)
    return row


async def _audit_end(db, call_id: int):
    async with db.acquire() as conn:
        return await conn.fetch("SELECT action, changes FROM audit_log WHERE entity = 'call' AND entity_id = $1 "
                                "ORDER BY id", call_id)


async def test_listen_snoops_on_the_operators_leg_and_ends_cleanly_when_the_supervisor_hangs_up(
        db, crm, fake, start_app):
    sergeeva = await _sergeeva(db, fake)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    request_id = await _ask(db, sergeeva, caller, "listen")
    dial = await fake.next_originate("PJSIP/107")
    assert dial.query["channelId"] == f"sup-{request_id}" and dial.query["appArgs"] == f"supervisor,{request_id}"
    assert (await _request(db, request_id))["status"] == "ringing"
    await fake.answer(f"sup-{request_id}")
    snoop = f"sup-{request_id}-snoop"
    await fake.wait_for(lambda: fake.bridges.get(f"sup-{request_id}", {}).get("channels") == [f"sup-{request_id}", snoop],
                        what="the supervisor's phone and the snoop bridged")
    assert fake.snoops[snoop] == {"target": leg, "spy": "both", "whisper": "none"}
    [snooped] = fake.calls_to("POST", f"/channels/{leg}/snoop")
    assert snooped.query["app"] == "pbxcrm" and snooped.query["appArgs"] == f"snoop,{request_id}"
    await _status_becomes(fake, db, request_id, "joined")

    await fake.hang_up(f"sup-{request_id}")
    row = await _status_becomes(fake, db, request_id, "done")
    assert row["joined_at"] is not None and row["ended_at"] is not None
    await fake.wait_for(lambda: snoop not in fake.channels and f"sup-{request_id}" not in fake.bridges,
                        what="the snoop hung up, its bridge destroyed")
    assert fake.bridges[f"pbxcrm-{caller}"]["channels"] == [caller, leg], "the call talks on, untouched"
    await fake.hang_up(caller)
    call = await ended_row(db, caller)
    assert call["status"] == "answered" and call["operator_user_id"] == crm["ivanova"]["id"]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM calls") == 1
        assert await conn.fetchval("SELECT count(*) FROM call_legs WHERE call_id = $1", call["id"]) == 1
    audit = await _audit_end(db, call["id"])
    assert [a["action"] for a in audit] == ["supervise", "supervise end"]
    assert '"result": [null, "done"]' in audit[1]["changes"]
    await app.stop()


async def test_whisper_ends_with_the_call_and_leaves_no_channel(db, crm, fake, start_app):
    sergeeva = await _sergeeva(db, fake)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    request_id = await _ask(db, sergeeva, caller, "whisper")
    await fake.next_originate("PJSIP/107")
    await fake.answer(f"sup-{request_id}")
    snoop = f"sup-{request_id}-snoop"
    await fake.wait_for(lambda: snoop in fake.snoops, what="the snoop")
    assert fake.snoops[snoop] == {"target": leg, "spy": "both", "whisper": "out"}
    await _status_becomes(fake, db, request_id, "joined")

    await fake.hang_up(caller)  # the app hangs Ivanova up; her snoop ends with her leg; the supervisor is hung up
    await _status_becomes(fake, db, request_id, "done")
    await fake.wait_for(lambda: not fake.channels and not fake.bridges, what="nothing left in Asterisk")
    assert fake.gone[f"sup-{request_id}"]["cause"] == 16
    await ended_row(db, caller)
    await app.stop()


async def test_barge_joins_the_calls_bridge_and_leaves_with_the_call(db, crm, fake, start_app):
    sergeeva = await _sergeeva(db, fake)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    request_id = await _ask(db, sergeeva, caller, "barge")
    await fake.next_originate("PJSIP/107")
    await fake.answer(f"sup-{request_id}")
    await fake.wait_for(lambda: fake.bridges[f"pbxcrm-{caller}"]["channels"] == [caller, leg, f"sup-{request_id}"],
                        what="the supervisor in the call's bridge")
    assert fake.snoops == {} and f"sup-{request_id}" not in fake.bridges
    await _status_becomes(fake, db, request_id, "joined")
    await fake.hang_up(leg)  # the operator hangs up: the call ends, the supervisor with it
    await _status_becomes(fake, db, request_id, "done")
    await fake.wait_for(lambda: not fake.channels and not fake.bridges, what="nothing left in Asterisk")
    call = await ended_row(db, caller)
    assert call["operator_user_id"] == crm["ivanova"]["id"]
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM calls") == 1
    await app.stop()


async def test_a_supervisor_who_does_not_answer_fails_the_request_and_the_call_goes_on(db, crm, fake, start_app):
    sergeeva = await _sergeeva(db, fake)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    request_id = await _ask(db, sergeeva, caller, "listen")
    await fake.next_originate("PJSIP/107")
    await fake.hang_up(f"sup-{request_id}", cause=17)  # busy
    row = await _status_becomes(fake, db, request_id, "failed")
    assert row["error"] == "the supervisor's phone did not answer" and row["joined_at"] is None
    assert fake.snoops == {} and bridged(fake, caller)
    await fake.hang_up(caller)
    call = await ended_row(db, caller)
    audit = await _audit_end(db, call["id"])
    assert [a["action"] for a in audit] == ["supervise", "supervise end"]
    assert '"result": [null, "failed"]' in audit[1]["changes"]
    await app.stop()


async def test_a_call_no_longer_talking_here_rings_nobody(db, crm, fake, start_app):
    sergeeva = await _sergeeva(db, fake)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    call_id = await _written_talking(db, caller)
    await app.stop()  # the app is away; its call is left to Asterisk
    async with db.acquire() as conn:  # asked as the web asks, while the call looked live
        request_id = await supervision_q.request(conn, call_id=call_id, channel_id=caller,
                                                 supervisor_id=sergeeva["id"], extension="107", mode="listen")
    app = await start_app()  # the request made while nobody listened is taken up at the connect
    row = await _status_becomes(fake, db, request_id, "failed")
    assert row["error"] == "the call is over, or nobody talks on it now"
    assert fake.originated("PJSIP/107") == []
    await app.stop()


async def test_an_app_that_stops_hangs_up_its_supervisors_and_the_next_ends_what_a_dead_one_ran(
        db, crm, fake, start_app):
    sergeeva = await _sergeeva(db, fake)
    app = await start_app()
    caller, leg = await _talking_to_ivanova(fake)
    request_id = await _ask(db, sergeeva, caller, "barge")
    await fake.next_originate("PJSIP/107")
    await fake.answer(f"sup-{request_id}")
    await _status_becomes(fake, db, request_id, "joined")
    await app.stop()  # stepping down: the supervisor is hung up, the call is left to the next process
    assert f"sup-{request_id}" not in fake.channels and (await _request(db, request_id))["status"] == "done"
    assert fake.bridges[f"pbxcrm-{caller}"]["channels"] == [caller, leg]
    # A process that died ran another: the next active one says it is over (its channels, the resync hangs up).
    async with db.acquire() as conn:
        call_id = await conn.fetchval("SELECT id FROM calls WHERE channel_id = $1", caller)
        orphan = await supervision_q.request(conn, call_id=call_id, channel_id=caller, supervisor_id=sergeeva["id"],
                                             extension="107", mode="listen")
        await conn.execute("UPDATE supervision_requests SET status = 'joined', joined_at = now() WHERE id = $1",
                           orphan)
    app = await start_app()
    row = await _status_becomes(fake, db, orphan, "failed")
    assert row["error"] == "the app that ran it stopped"
    assert [a["action"] for a in await _audit_end(db, call_id)][-1] == "supervise end"
    await app.stop()
