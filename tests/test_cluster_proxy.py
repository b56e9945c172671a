"""More than one PBX (issue 26), through real SIP: Kamailio (cluster/kamailio.cfg) in front of the
Asterisk nodes of cluster/nodes (scripts/cluster.sh; tests/cluster.py has the addresses). Calls into the
proxy are spread over the nodes in turn; a node rings a phone registered on another node through its
trunk to it (the CRM's dial string PJSIP/<extension>@node-<name>); a stopped node is out of the proxy's
turn within seconds while calls go on on the other one."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter

import asyncpg

from tests.cluster import ANSWERING_NUMBER, ClusterPhone, proxy_calls, register, unique_callers
from tests.rtp import RtpEnd, remote_of
from tests.telephony import wait_for

# The number every node answers and echoes on (asterisk-conf/extensions.conf), and the phone's tone.
ECHO_NUMBER = "79960000001"
TONE_HZ = 800


async def test_twenty_calls_into_the_proxy_are_all_answered_and_spread_over_both_nodes(cluster, tmp_path):
    callers = unique_callers(20)
    # Both nodes in the turn first: a node an earlier test restarted is out of it until its next OPTIONS.
    assert await wait_for(lambda: _every_node_in_turn(cluster), timeout=FAILOVER_LIMIT), await cluster.proxy_turn()
    result = await proxy_calls(callers, rate=10, work_dir=tmp_path)
    assert result.returncode == 0, result.output

    async def every_call_logged():
        by_caller = await cluster.calls_by_node(callers)
        return by_caller if len(by_caller) == len(callers) else None

    by_caller = await wait_for(every_call_logged, timeout=10)
    assert by_caller, f"not every call in the nodes' CEL: {await cluster.calls_by_node(callers)}"
    per_node = Counter(by_caller.values())
    # Each node's channels carry its systemname (asterisk.conf): unique ids across the cluster.
    assert set(per_node) == {"node-a", "node-b"}, per_node
    assert abs(per_node["node-a"] - per_node["node-b"]) <= 2, f"not round robin: {per_node}"


async def test_a_node_rings_a_phone_registered_on_another_node_through_its_trunk_to_it(cluster, tmp_path):
    caller = unique_callers(1)[0]
    # Node a does not know node b's phones: no endpoint, and a REGISTER there is refused.
    status, _ = await cluster.ari("a", "GET", "/endpoints/PJSIP/7201")
    assert status == 404
    refused = await register("7201", cluster.nodes["b"].phone_address, 7201, cluster.nodes["a"].sip)
    assert refused.returncode != 0, refused.output

    async with ClusterPhone(cluster, "7201", "phone_answer.xml", tmp_path) as phone:
        # What the CRM's app on node a does to ring a manager whose phone is registered on node b.
        status, channel = await cluster.ari("a", "POST", "/channels", endpoint="PJSIP/7201@node-b",
                                            context="sandbox-from-trunk", extension=ANSWERING_NUMBER,
                                            priority="1", callerId=f"Client <{caller}>")
        assert status == 200, channel
        assert isinstance(channel, dict) and channel["id"].startswith("node-a-")

        def hung_up() -> bool:
            text = phone.messages.read_text(errors="replace") if phone.messages.exists() else ""
            return bool(re.search(r"SIP/2\.0 200 OK\n(?:.+\n)*?CSeq: *\d+ BYE", text))

        assert await wait_for(hung_up, timeout=15), "the phone was not rung, answered and hung up cleanly"
        invites = phone.invites()
        assert len(invites) == 1 and f"sip:{caller}@" in invites[0], invites

    conn = await asyncpg.connect(cluster.cel_database_url)
    try:
        # Node a's call is the originated channel's; node b's, the one from node a with the caller's number.
        rows = await conn.fetch("""SELECT eventtype, uniqueid, channame, context, appname FROM cel
                                   WHERE eventtype IN ('ANSWER', 'APP_START')
                                     AND linkedid IN (SELECT $1 UNION SELECT linkedid FROM cel WHERE cid_num = $2)""",
                                channel["id"], caller)
    finally:
        await conn.close()
    answered = {(r["uniqueid"].rsplit("-", 1)[0], r["channame"].rsplit("-", 1)[0])
                for r in rows if r["eventtype"] == "ANSWER"}
    assert answered >= {("node-a", "PJSIP/node-b"), ("node-b", "PJSIP/node-a"), ("node-b", "PJSIP/7201")}, rows
    # Node b only rang its phone (pbxcrm-from-node): no Stasis there, the call is routed and logged by node a.
    assert [(r["context"], r["appname"]) for r in rows
            if r["eventtype"] == "APP_START" and r["uniqueid"].startswith("node-b-")] == [("pbxcrm-from-node", "Dial")]


async def test_media_flows_both_ways_between_a_phone_and_the_node_that_rang_it_through_another(cluster, tmp_path):
    """Node a echoes (79960000001) what the phone registered on node b says: its tone crosses both
    nodes twice, there and back."""
    phone_media = RtpEnd(TONE_HZ)
    phone_media.start_reading()
    try:
        async with ClusterPhone(cluster, "7202", "phone_media.xml", tmp_path,
                                args=("-key", "rtp_port", str(phone_media.port))):
            status, channel = await cluster.ari("a", "POST", "/channels", endpoint="PJSIP/7202@node-b",
                                                context="sandbox-from-trunk", extension=ECHO_NUMBER, priority="1")
            assert status == 200, channel
            assert isinstance(channel, dict)
            messages = tmp_path / "phone-7202-messages.log"
            phone_media.start_sending(await wait_for(lambda: remote_of(messages), timeout=10))
            since = time.monotonic()
            await asyncio.sleep(1.5)
            heard = phone_media.heard(TONE_HZ, since + 0.5, time.monotonic())
            status, _ = await cluster.ari("a", "DELETE", f"/channels/{channel['id']}")
            assert status == 204
        print(f"\nthe phone heard its {TONE_HZ} Hz tone back at amplitude {heard:.0f} (sent at 6000)")
        assert heard > 1000, f"the phone did not hear its own tone back through the nodes ({heard:.0f})"
    finally:
        await phone_media.close()


async def test_up_again_reloads_in_seconds_and_keeps_every_node_in_the_turn(cluster):
    started = time.monotonic()
    await cluster.cluster_sh("up")
    assert time.monotonic() - started < 10
    turn = await cluster.proxy_turn()
    assert set(turn) == {"a", "b"} and all(flags.startswith("A") for flags in turn.values()), turn
    status = await cluster.cluster_sh("status")
    for node in cluster.nodes.values():
        assert f"ari answers at {node.ari_url}" in status, status
    for name in cluster.nodes:
        settings = await cluster.cluster_sh("cli", name, "core show settings")
        assert re.search(rf"System name: +node-{name}\n", settings), settings


# The proxy asks every node OPTIONS each second and gives up on one after 1 s without an answer
# (cluster/kamailio.cfg); an INVITE a node does not answer within 1 s goes to the next node.
FAILOVER_LIMIT = 5.0


async def test_a_stopped_node_leaves_the_proxys_turn_within_seconds_and_calls_go_on_on_the_other(cluster, tmp_path):
    callers = unique_callers(24)
    left_at: float | None = None
    started = time.monotonic()
    stopping = asyncio.create_task(cluster.cluster_sh("stop-node", "a"))

    async def watch() -> None:
        nonlocal left_at
        while left_at is None:
            if (await cluster.proxy_turn()).get("a", "").startswith("I"):
                left_at = time.monotonic() - started
            await asyncio.sleep(0.1)

    async def call(n: int, caller: str):
        await asyncio.sleep(n * 0.25)  # a call every quarter of a second, for 6 s
        at = time.monotonic() - started
        return at, caller, await proxy_calls([caller], rate=1, work_dir=tmp_path / f"call-{n}")

    watcher = asyncio.create_task(watch())
    try:
        calls = await asyncio.gather(*(call(n, caller) for n, caller in enumerate(callers)))
        await stopping
        await asyncio.wait_for(watcher, FAILOVER_LIMIT)
        by_caller = await wait_for(lambda: _all_logged(cluster, callers, calls), timeout=10) or {}
    finally:
        watcher.cancel()
        await cluster.cluster_sh("start-node", "a")
    failed = [(round(at, 2), result.output) for at, _, result in calls if result.returncode != 0]
    # When calls stopped failing: after the last failed one began (0: none failed).
    failing_for = max((at for at, _ in failed), default=0.0)
    print(f"\nfailover: node a out of the proxy's turn {left_at:.2f} s after the stop; "
          f"{len(failed)} of {len(calls)} calls failed, the last begun {failing_for:.2f} s after it")
    assert left_at is not None and left_at < FAILOVER_LIMIT
    assert failing_for < FAILOVER_LIMIT, failed
    # Once out of the turn, every call went to node b and was answered there.
    later = [caller for at, caller, _ in calls if at > left_at]
    assert later and all(by_caller.get(caller) == "node-b" for caller in later), by_caller

    # Started again, node a is back in the turn at its first answered OPTIONS.
    back = await wait_for(lambda: _in_turn(cluster, "a"), timeout=FAILOVER_LIMIT)
    assert back, await cluster.proxy_turn()


async def _all_logged(cluster, callers, calls):
    answered = {caller for _, caller, result in calls if result.returncode == 0}
    by_caller = await cluster.calls_by_node(callers)
    return by_caller if answered <= set(by_caller) else None


async def _in_turn(cluster, name: str) -> bool:
    return (await cluster.proxy_turn()).get(name, "").startswith("A")


async def _every_node_in_turn(cluster) -> bool:
    return all([await _in_turn(cluster, name) for name in cluster.nodes])
