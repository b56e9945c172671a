"""The PBX nodes (issue 26), for supervisors and admins: each node of a centre with several Asterisks
behind a SIP proxy, whether it is up, down or silent and since when, its ARI address, its calls now
and its last word. The page at /pbx-nodes, JSON at /api/pbx-nodes. The wallboard names the nodes that
are not up (web/views/wallboard.py)."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.routing import Route

from crm.nodes import HEARTBEAT_SECONDS
from crm.nodes import queries as nodes_q
from crm.nodes.state import POLICY, NodeState
from crm.roles import NODES_ROLES
from web.db import connection
from web.permissions import require_role
from web.resource import html_or_json


def node_json(state: NodeState) -> dict:
    return dataclasses.asdict(state)


@require_role(*NODES_ROLES)
async def pbx_nodes(request: Request):
    """GET /pbx-nodes (HTML) and /api/pbx-nodes (JSON: {"nodes": [{name, state, reason, since, seconds,
    ari_url, calls_now, seen_at, word_age}], "heartbeat_seconds", "silent_after_seconds"})."""
    async with connection(request) as conn:
        nodes = await nodes_q.current(conn)
    silent_after = round(POLICY.silent_after.total_seconds())
    return await html_or_json(
        request, "pbx_nodes.html",
        {"nodes": nodes, "heartbeat_seconds": HEARTBEAT_SECONDS, "silent_after_seconds": silent_after},
        lambda: {"nodes": [node_json(n) for n in nodes], "heartbeat_seconds": HEARTBEAT_SECONDS,
                 "silent_after_seconds": silent_after})


routes = [
    Route("/pbx-nodes", pbx_nodes, name="nodes.pbx_nodes", methods=["GET"]),
    Route("/api/pbx-nodes", pbx_nodes, name="nodes.pbx_nodes_api", methods=["GET"]),
]
