"""Answering-machine detection on the sandbox's Asterisk (issue 22): a campaign's answered call goes
through the dialplan's pbxcrm-campaign-amd (AMD() with the campaign's arguments) and comes back to the
Stasis app with the verdict. The far end is sipp on the trunk (tests/amd_calls.py) playing a machine's
long greeting or a person's short "hello"; the Stasis side is the test's own socket on the app's name
(no `pbxcrm ari` runs here), so what is checked is exactly what the dialplan hands the app."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from ari_app.constants import CAMPAIGN_AMD_CONTEXT, PURPOSE_CAMPAIGN_AMD, campaign_channel_id
from crm.outbound.model import MACHINE, amd_arguments, amd_settings, outcome_of_amd
from tests.amd_calls import trunk_client
from tests.telephony import ari_settings, require_sandbox

APP = "pbxcrm"  # the name the dialplan's Stasis() sends the call back to


async def _verdict(kind: str, attempt: int, work_dir) -> tuple[list[str], dict]:
    """Dial the trunk's client `kind` through AMD; the StasisStart that comes back (its args) and the
    channel's id. The call is hung up after."""
    url, headers = ari_settings()
    channel = campaign_channel_id(attempt)
    timeout = aiohttp.ClientTimeout(total=20)
    async with trunk_client(kind, work_dir) as client, aiohttp.ClientSession(headers=headers, timeout=timeout) as s:
        ws = await s.ws_connect(url.replace("http", "ws", 1) + "/ari/events", params={"app": APP})
        try:
            body = {"endpoint": "PJSIP/74951230000@trunk", "context": CAMPAIGN_AMD_CONTEXT, "extension": "s",
                    "priority": 1, "timeout": 10, "channelId": channel,
                    "variables": {"PBXCRM_AMD": amd_arguments(amd_settings(None)),
                                  "PBXCRM_ATTEMPT": str(attempt)}}
            async with s.post(f"{url}/ari/channels", json=body) as r:
                assert r.status == 200, await r.text()
            start = None
            try:
                async with asyncio.timeout(12):  # AMD decides within its total analysis time (5 s)
                    async for msg in ws:
                        event = json.loads(msg.data)
                        if event.get("type") == "StasisStart" and event["channel"]["id"] == channel:
                            start = event
                            break
            except TimeoutError:
                pass  # asserted below, once the call is hung up
            async with s.delete(f"{url}/ari/channels/{channel}") as r:
                assert r.status in (204, 404)
        finally:
            await ws.close()
        assert len(client.invites()) == 1
    assert start is not None, f"no StasisStart of {channel} on {APP} within 12 s"
    return start["args"], start["channel"]


async def test_a_machine_greeting_comes_back_to_the_app_as_machine_and_a_hello_as_human(tmp_path):
    await require_sandbox()
    args, channel = await _verdict("machine", 9101, tmp_path / "machine")
    assert args[:3] == [PURPOSE_CAMPAIGN_AMD, "9101", "MACHINE"], args
    assert args[3].startswith("LONGGREETING-"), args  # 1.5 s of talking and still going
    assert outcome_of_amd(args[2]) == MACHINE
    assert channel["state"] == "Up"

    args, _ = await _verdict("human", 9102, tmp_path / "human")
    assert args[:3] == [PURPOSE_CAMPAIGN_AMD, "9102", "HUMAN"], args
    assert args[3].startswith("HUMAN-"), args  # a short word, then 0.8 s of silence
    assert outcome_of_amd(args[2]) is None
