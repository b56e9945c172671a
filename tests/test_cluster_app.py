"""More than one PBX (issue 26), the app's side against two fake ARIs (tests/fake_ari.py): two `pbxcrm ari`
(ari_app.app.run) for nodes a and b on one database. Node a has Petrov's phone (103, the default queue),
node b Ivanova's (102, the client's manager). The real two-Asterisk run is tests/test_cluster_calls.py."""

from __future__ import annotations

import asyncio

import pytest

from tests.call_flow_support import (  # noqa: F401  (fixtures are used by name)
    CLIENT,
    STRANGER,
    RunningApp,
    app_settings,
    bridged,
    ended_row,
    no_recording,
    route,
    spec,
)
from tests.campaign_support import attempts, make_campaign
from tests.fake_ari import FakeAri
from tests.helpers import make_user


@pytest.fixture
async def two_nodes(spec, settings, tmp_path):
    """Fakes a (103, trunk node-b) and b (102, trunk node-a), and a start(node) for each node's app."""
    fakes = {"a": FakeAri(spec), "b": FakeAri(spec)}
    for fake in fakes.values():
        await fake.start()
    fakes["a"].add_phone("103")
    fakes["a"].add_phone("node-b")
    fakes["b"].add_phone("102")
    fakes["b"].add_phone("node-a")
    apps: list[RunningApp] = []

    async def start(node: str) -> RunningApp:
        app = RunningApp(fakes[node], app_settings(settings, fakes[node], tmp_path / node, node=node))
        apps.append(app)
        return await app.start()

    yield fakes, start
    for app in apps:
        await app.stop()
    for fake in fakes.values():
        await fake.close()


async def phones_known(db, *devices: str) -> None:
    for _ in range(150):
        if await db.fetchval("SELECT count(*) FROM phone_presence WHERE device = ANY($1::text[])",
                             list(devices)) == len(devices):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{devices} not in phone_presence")


async def test_a_call_on_node_a_rings_the_manager_whose_phone_is_on_node_b_through_the_trunk(db, crm, two_nodes):
    fakes, start = two_nodes
    await no_recording(db)
    await start("a")
    await start("b")
    await phones_known(db, "PJSIP/102", "PJSIP/103")
    await asyncio.sleep(0.1)  # node a has read node b's phones (the NOTIFY after b's write)
    caller = await fakes["a"].incoming(CLIENT)
    dial = await fakes["a"].next_originate("PJSIP/102@node-b")
    assert dial.query["callerId"] == f'"Sokolov Ivan" <{CLIENT}>'
    await fakes["a"].answer(dial.query["channelId"])
    await fakes["a"].wait_for(lambda: bridged(fakes["a"], caller), what="caller and Ivanova bridged")
    assert not fakes["b"].originated(None), "node b's app does not ring anything for node a's call"
    await fakes["a"].hang_up(caller)
    row = await ended_row(db, caller)
    assert (row["status"], row["operator_user_id"], row["node"]) == ("answered", crm["ivanova"]["id"], "a")
    assert await db.fetchval("SELECT count(*) FROM calls") == 1


async def test_a_manager_busy_on_node_b_is_busy_for_a_call_on_node_a(db, crm, two_nodes):
    fakes, start = two_nodes
    await no_recording(db)
    await start("a")
    await start("b")
    await phones_known(db, "PJSIP/102")
    # Ivanova talks on a call of node b that the app did not place: node b's Asterisk says INUSE.
    await fakes["b"].device_state("102", "INUSE")
    for _ in range(150):
        if await db.fetchval("SELECT state FROM phone_presence WHERE device = 'PJSIP/102'") == "INUSE":
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    caller = await fakes["a"].incoming(CLIENT)
    petrov = await fakes["a"].next_originate("PJSIP/103")  # the default queue, on node a
    assert not fakes["a"].originated("PJSIP/102@node-b")
    await fakes["a"].answer(petrov.query["channelId"])
    await fakes["a"].wait_for(lambda: bridged(fakes["a"], caller), what="caller and Petrov bridged")
    await fakes["a"].hang_up(caller)
    row = await ended_row(db, caller, steps=2)
    assert route(row)[0] == ("manager", "manager Irina Ivanova", "is busy on another call")
    assert row["operator_user_id"] == crm["petrov"]["id"] and row["node"] == "a"


async def test_a_round_robin_queue_takes_its_turns_across_the_nodes(db, crm, two_nodes):
    """The default queue, round robin, Petrov (103, node a) and Lebedev (104, node b): a caller on node a
    rings one of them, the next caller, on node b, the other; each rung where his phone lives."""
    fakes, start = two_nodes
    await no_recording(db)
    fakes["b"].add_phone("104")
    lebedev = await make_user(db, "lebedev", "operator", full_name="Oleg Lebedev", extension="104")
    async with db.acquire() as conn:
        await conn.execute("UPDATE queues SET strategy = 'roundrobin' WHERE id = $1", crm["queue"])
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", crm["queue"], lebedev["id"])
    await start("a")
    await start("b")
    await phones_known(db, "PJSIP/103", "PJSIP/104")
    await asyncio.sleep(0.1)
    where = {"a": {"PJSIP/103": "PJSIP/103", "PJSIP/104": "PJSIP/104@node-b"},
             "b": {"PJSIP/103": "PJSIP/103@node-a", "PJSIP/104": "PJSIP/104"}}
    rung = []
    for node in ("a", "b", "a"):
        fake = fakes[node]
        before = len(fake.originated(None))
        caller = await fake.incoming(STRANGER)
        dial = await fake.next_originate(None, after=before)
        phone = next(p for p, endpoint in where[node].items() if endpoint == dial.query["endpoint"])
        rung.append(phone)
        await fake.answer(dial.query["channelId"])
        await fake.wait_for(lambda fake=fake, caller=caller: bridged(fake, caller), what="bridged")
        await fake.hang_up(caller)
        await ended_row(db, caller)
        await asyncio.sleep(0.2)  # the turn reaches the other node
    assert rung[0] != rung[1] and rung[2] == rung[0], rung


async def test_each_node_says_it_lives_and_a_node_whose_asterisk_stops_answering_is_down(db, crm, two_nodes,
                                                                                        monkeypatch):
    import ari_app.cluster.heartbeat as heartbeat

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.2)
    fakes, start = two_nodes
    await start("a")
    await start("b")
    for _ in range(150):
        rows = {r["name"]: r for r in await db.fetch("SELECT * FROM pbx_nodes")}
        if set(rows) == {"a", "b"} and all(r["connected"] for r in rows.values()):
            break
        await asyncio.sleep(0.02)
    assert rows["a"]["ari_url"] == fakes["a"].url and rows["b"]["ari_url"] == fakes["b"].url
    await fakes["a"].close()  # node a's Asterisk stops: no answer to ARI at all
    for _ in range(250):
        row = await db.fetchrow("SELECT connected, down_since FROM pbx_nodes WHERE name = 'a'")
        if not row["connected"]:
            break
        await asyncio.sleep(0.02)
    assert not row["connected"] and row["down_since"] is not None
    assert await db.fetchval("SELECT connected FROM pbx_nodes WHERE name = 'b'")


async def test_one_node_dials_a_campaign_for_all_and_rings_an_agent_of_another_node_through_its_trunk(
        db, crm, two_nodes, monkeypatch):
    """The first node up by name (a) places the campaign's calls; b, up too, places none. The agent,
    Ivanova, has her phone on node b: node a rings it through its trunk."""
    import ari_app.cluster.heartbeat as heartbeat

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.2)
    fakes, start = two_nodes
    await no_recording(db)
    await start("b")
    await start("a")
    for _ in range(150):
        if await db.fetchval("SELECT count(*) FROM pbx_nodes WHERE connected") == 2 and \
                await db.fetchval("SELECT count(*) FROM phone_presence WHERE device = 'PJSIP/102'") == 1:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    campaign = await make_campaign(db, author_id=crm["ivanova"]["id"], agents=[crm["ivanova"]["id"]],
                                   numbers=[CLIENT], caller_id="4957770000")
    dial = await fakes["a"].next_originate(f"PJSIP/{CLIENT.lstrip('+')}@trunk", timeout=10)
    await fakes["a"].answer(dial.query["channelId"])
    agent = await fakes["a"].next_originate("PJSIP/102@node-b")
    await fakes["a"].answer(agent.query["channelId"])
    await fakes["a"].wait_for(lambda: bridged(fakes["a"], dial.query["channelId"]), what="client and agent bridged")
    assert not fakes["b"].originated(None), "node b dials nothing of the campaign"
    assert len(await attempts(db, campaign)) == 1, "the number is dialled once, by one node"
