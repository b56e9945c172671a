"""The browser phone's rules (issue 19) without Asterisk: dial strings of the phone modes, the SIP
passwords, busy and unreachable for a user with two phones, both phones rung as one user's legs,
the shell's address and headers, and the account setting and API over HTTP."""

from __future__ import annotations

import asyncio
import json

from starlette.datastructures import MutableHeaders

from ari_app.media import CallMedia
from ari_app.phone_states import PhoneStates
from ari_app.ringing import Phone, Ringer
from crm.dialing import queries as dialing_q
from crm.dialing.technology import click_dial, devices, dials, is_browser_dial, phone_dial
from crm.webrtc import credentials
from tests.helpers import login, make_user
from tests.test_phone_reservation import FakeAri
from web.headers import apply, socket_origin
from web.views.phone import inner_address

BOTH = "PJSIP/102&PJSIP/webrtc-102"


# ---- dial strings ----

def test_each_phone_mode_has_its_dial_string_and_both_ring_as_separate_legs():
    assert phone_dial("102", None, "desk") == "PJSIP/102"
    assert phone_dial("102", "SIP/1002", "desk") == "SIP/1002"
    assert phone_dial("102", None, "browser") == "PJSIP/webrtc-102"
    assert phone_dial("102", None, "both") == BOTH
    assert phone_dial("102", "SIP/1002", "both") == "SIP/1002&PJSIP/webrtc-102"
    assert dials(BOTH) == ["PJSIP/102", "PJSIP/webrtc-102"] and dials("PJSIP/102") == ["PJSIP/102"]
    assert devices(BOTH) == ["PJSIP/102", "PJSIP/webrtc-102"]
    assert devices("Local/102@phones&PJSIP/webrtc-102") == ["PJSIP/webrtc-102"]
    # Click-to-call came from the page: the browser phone, when the user has one.
    assert click_dial(BOTH) == "PJSIP/webrtc-102" and click_dial("SIP/1002") == "SIP/1002"
    assert is_browser_dial("PJSIP/webrtc-102") and not is_browser_dial("PJSIP/102")


def test_browser_endpoint_passwords_derive_from_the_secret_and_the_extension():
    assert credentials.endpoint_name("102") == "webrtc-102"
    assert credentials.extension_of("webrtc-102") == "102" and credentials.extension_of("102") is None
    one = credentials.password("s1", "102")
    assert one == credentials.password("s1", "102") and len(one) == 32
    assert one != credentials.password("s1", "103") and one != credentials.password("s2", "102")
    conf = credentials.pjsip_sections("s1", ["102"])
    assert "[webrtc-102](webrtc-phone)" in conf and f"password = {one}" in conf and "max_contacts = 1" in conf
    for bad in ("", "1", "10a", "1234567"):
        try:
            credentials.endpoint_name(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} taken as an extension")


# ---- busy and unreachable, for a user with two phones ----

async def test_a_user_is_busy_when_either_phone_is_and_unreachable_only_when_both_are():
    states = PhoneStates(FakeAri(), lambda ext: BOTH if ext == "102" else f"PJSIP/{ext}")

    async def state(desk, browser):
        for name, value in (("PJSIP/102", desk), ("PJSIP/webrtc-102", browser)):
            await states.on_device_state_changed({"device_state": {"name": name, "state": value}})
        return await states.problem("102")

    assert await state("NOT_INUSE", "UNAVAILABLE") is None  # the page is closed: the desk still rings
    assert await state("UNAVAILABLE", "NOT_INUSE") is None
    assert await state("NOT_INUSE", "INUSE") == "busy on another call"  # talking in the browser
    assert await state("INUSE", "NOT_INUSE") == "busy on another call"
    assert await state("UNAVAILABLE", "UNAVAILABLE") == "unreachable"
    await state("NOT_INUSE", "INUSE")
    assert states.try_reserve("call-a", ["102", "103"]) == ["103"]
    await state("NOT_INUSE", "NOT_INUSE")
    states.dialled("102")  # both ring: busy for the next call before Asterisk says so
    assert states.try_reserve("call-b", ["102"]) == []


class BrowserAnswers(FakeAri):
    """Only the browser phone picks up; the desk phone rings on."""

    def __init__(self):
        super().__init__(answer_after=0.05, talk=5)
        self.endpoints: dict[str, str] = {}
        self.hung_up: list[str] = []
        self.variables: dict[str, dict | None] = {}

    async def originate(self, *, endpoint, channel_id, app_args, caller_id, timeout, originator=None, variables=None):
        self.endpoints[channel_id] = endpoint
        self.variables[endpoint] = variables
        return await super().originate(endpoint=endpoint, channel_id=channel_id, app_args=app_args,
                                       caller_id=caller_id, timeout=timeout, originator=originator)

    async def _pick_up(self, channel_id):
        if "webrtc" in self.endpoints[channel_id]:
            await super()._pick_up(channel_id)

    async def hangup(self, channel_id):
        self.hung_up.append(self.endpoints.get(channel_id, channel_id))
        await super().hangup(channel_id)


async def test_both_phones_ring_as_one_user_the_first_to_answer_wins_and_the_user_stays_held():
    ari = BrowserAnswers()
    states = PhoneStates(ari, lambda ext: BOTH)
    ringer = Ringer(CallMedia(ari), states)
    ari.ringer = ringer
    ivanova = Phone(7, "Irina Ivanova", "102")
    assert ringer.try_reserve("caller-1", [ivanova]) == [ivanova]
    result = await ringer.ring(caller_channel="caller-1", caller_id="84951234567", phones=[ivanova], ring_seconds=2,
                               caller_gone=asyncio.Event(), register=lambda leg: None)
    assert sorted(ari.endpoints.values()) == ["PJSIP/102", "PJSIP/webrtc-102"]
    assert result.winner is not None and result.winner.phone == ivanova
    assert ari.endpoints[result.winner.channel_id] == "PJSIP/webrtc-102"
    assert ari.hung_up == ["PJSIP/102"]  # the desk stops ringing
    assert states.holder("102") == "caller-1"  # the user talks: busy for every other call
    # The browser's INVITE names the call (for its Transfer); the desk's does not.
    assert ari.variables["PJSIP/webrtc-102"]["PJSIP_HEADER(add,X-PBXCRM-Call)"] == "caller-1"
    assert "PJSIP_HEADER(add,X-PBXCRM-Call)" not in (ari.variables["PJSIP/102"] or {})


# ---- the shell ----

def test_the_shell_shows_only_pages_of_this_site():
    assert inner_address("/counterparties/5?tab=calls#x") == "/counterparties/5?tab=calls#x"
    for bad in (None, "", "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
                "/phone?to=/clients", "tasks"):
        assert inner_address(bad) == "/clients", bad


def test_only_the_shell_may_open_the_phones_websocket():
    assert socket_origin("wss://pbx.example.com:8089/ws") == "wss://pbx.example.com:8089"
    shell, page = MutableHeaders(), MutableHeaders()
    apply(shell, "/phone", "wss://pbx.example.com:8089")
    apply(page, "/clients", "wss://pbx.example.com:8089")
    assert shell["content-security-policy"].endswith("; connect-src 'self' wss://pbx.example.com:8089")
    assert "connect-src" not in page["content-security-policy"]
    assert "frame-ancestors 'self'" in page["content-security-policy"] and page["x-frame-options"] == "SAMEORIGIN"


# ---- over HTTP ----

async def test_a_user_chooses_the_browser_phone_and_the_page_gets_their_own_sip_account(web, db):
    ivanova = await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    await make_user(db, "nophone", "operator", full_name="No Phone")
    login(web, "ivanova")
    token = web.cookies["pbxcrm_csrf"]
    page = web.get("/account").text
    assert 'id="phone-mode-form"' in page and 'value="desk" checked' in page
    # A desk-phone user has no browser phone: no account, and the shell sends them to the page itself.
    assert web.get("/api/phone").status_code == 404
    r = web.get("/phone?to=/tasks", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tasks"
    assert "data-browser-phone" not in web.get("/clients").text

    r = web.post("/account/phone", data={"csrf_token": token, "phone_mode": "loud"})
    assert r.status_code == 400 and "choose the desk phone, the browser phone or both" in r.text
    r = web.post("/account/phone", data={"csrf_token": token, "phone_mode": "both"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account?saved=1"
    assert web.post("/account/phone", data={"phone_mode": "desk"}, follow_redirects=False).status_code == 403
    async with db.acquire() as conn:
        assert (await dialing_q.load(conn)).dial_of("102") == BOTH
        changes = await conn.fetchval("SELECT changes FROM audit_log WHERE entity = 'user' AND action = 'phone_mode'")
    assert json.loads(changes) == {"phone_mode": ["desk", "both"]}

    assert 'data-browser-phone="/phone"' in web.get("/clients").text
    account = web.get("/api/phone").json()
    assert account == {"ws_url": "wss://127.0.0.1:8089/ws", "uri": "sip:webrtc-102@127.0.0.1", "user": "webrtc-102",
                       "password": credentials.password("pbxcrm-sandbox-webrtc", "102"), "extension": "102",
                       "display_name": "Irina Ivanova", "mode": "both"}
    shell = web.get("/phone?to=/tasks")
    assert shell.status_code == 200 and 'src="/tasks"' in shell.text and 'id="phone"' in shell.text
    assert "connect-src 'self' wss://127.0.0.1:8089" in shell.headers["content-security-policy"]
    assert ivanova["id"]

    # Nobody without an extension has a browser phone, whatever they ask for.
    login(web, "nophone")
    token = web.cookies["pbxcrm_csrf"]
    web.post("/account/phone", data={"csrf_token": token, "phone_mode": "browser"})
    assert web.get("/api/phone").status_code == 404


def test_a_campaign_agent_s_phone_is_told_to_answer_by_itself():
    from crm.dialing.technology import AUTO_ANSWER_HEADER_VARIABLE, DESK_AUTO_ANSWER_VARIABLES, auto_answer_variables

    assert auto_answer_variables("PJSIP/webrtc-101", "campaign-7") == {AUTO_ANSWER_HEADER_VARIABLE: "campaign-7"}
    desk = auto_answer_variables("PJSIP/101", "campaign-7")
    assert desk == DESK_AUTO_ANSWER_VARIABLES and desk is not DESK_AUTO_ANSWER_VARIABLES  # a copy to add to
    assert "answer-after=0" in desk["PJSIP_HEADER(add,Call-Info)"]
