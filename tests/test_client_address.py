"""The client's address behind trusted proxies only (issue 17): X-Forwarded-For from anyone else is ignored."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from crm.settings import Settings, SettingsError
from web.app import create_app
from web.client_address import client_address, resolve

PROXY = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


@pytest.mark.parametrize(("peer", "headers", "proxies", "expected"), [
    ("203.0.113.5", [], PROXY, "203.0.113.5"),
    # A client that names itself: not a proxy, not believed.
    ("203.0.113.5", ["198.51.100.1"], PROXY, "203.0.113.5"),
    ("203.0.113.5", ["198.51.100.1"], (), "203.0.113.5"),
    # Through our proxy: the address it saw.
    ("10.1.2.3", ["198.51.100.1"], PROXY, "198.51.100.1"),
    # A client that prepends a forged hop: our proxy appended the real one, which is read first.
    ("10.1.2.3", ["1.1.1.1, 198.51.100.1"], PROXY, "198.51.100.1"),
    # Two proxies of ours in a row, and the header split over two lines.
    ("10.1.2.3", ["198.51.100.1", "10.9.9.9"], PROXY, "198.51.100.1"),
    ("fd00::1", ["2001:db8::7"], PROXY, "2001:db8::7"),
    ("10.1.2.3", ["[2001:db8::7]:4711"], PROXY, "2001:db8::7"),
    ("10.1.2.3", ["198.51.100.1:5555"], PROXY, "198.51.100.1"),
    # Garbage in the chain: the last address we can vouch for (the proxy's), never the garbage.
    ("10.1.2.3", ["not-an-ip"], PROXY, "10.1.2.3"),
    # Only proxies in the chain: the farthest one.
    ("10.1.2.3", ["10.0.0.9"], PROXY, "10.0.0.9"),
    ("::ffff:203.0.113.5", [], PROXY, "203.0.113.5"),
])
def test_the_client_is_the_first_untrusted_hop_from_the_right(peer, headers, proxies, expected):
    assert resolve(peer, headers, proxies) == expected


def test_the_proxies_setting_refuses_what_is_not_a_network():
    assert Settings.from_env({"DATABASE_URL": "x", "PBXCRM_TRUSTED_PROXIES": "10.0.0.0/8, ::1"}).trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))
    with pytest.raises(SettingsError, match="PBXCRM_TRUSTED_PROXIES"):
        Settings.from_env({"DATABASE_URL": "x", "PBXCRM_TRUSTED_PROXIES": "10.0.0.0/33"})


def test_the_web_app_reads_the_address_through_its_middleware(settings):
    proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    app = create_app(dataclasses.replace(settings, trusted_proxies=proxies))

    async def echo(request: Request):
        return PlainTextResponse(client_address(request) or "")

    # Under /healthz: public, so no session is needed to see the address.
    app.router.routes.insert(0, Route("/healthz/address", echo))
    forged = {"X-Forwarded-For": "198.51.100.1"}
    with TestClient(app, client=("10.0.0.1", 5000)) as through_proxy:
        assert through_proxy.get("/healthz/address", headers=forged).text == "198.51.100.1"
    with TestClient(app, client=("203.0.113.5", 5000)) as direct:
        assert direct.get("/healthz/address", headers=forged).text == "203.0.113.5"
