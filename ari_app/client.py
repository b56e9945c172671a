"""A thin ARI client on aiohttp: REST calls with timeouts and typed errors, and
the /ari/events websocket with capped-backoff reconnects.

A link that dies without closing (a dead peer, a NAT entry gone, dropped
packets) is found by websocket pings: when `heartbeat` seconds pass without a
frame, a ping goes out, and no pong within half that closes the socket, so a
silent link is known within 1.5 x heartbeat (3 s by default) and reconnected."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

# Not an ARI event: yielded by events() after every (re)connect so the app can resync.
CONNECTED = "PbxcrmConnected"


class AriError(Exception):
    def __init__(self, method: str, path: str, status: int | None, message: str):
        super().__init__(f"ARI {method} {path}: {status or 'no answer'} {message}".strip())
        self.method, self.path, self.status, self.message = method, path, status, message


class AriUnavailable(AriError):
    """Asterisk did not answer (connection refused, timeout)."""


class AriBadRequest(AriError):
    """400: a parameter is missing or malformed."""


class AriNotFound(AriError):
    """404: the channel, bridge or recording is gone."""


class AriConflict(AriError):
    """409 or 412: the object is not in a state for this (e.g. the channel left Stasis)."""


_ERRORS_BY_STATUS = {400: AriBadRequest, 404: AriNotFound, 409: AriConflict, 412: AriConflict, 422: AriBadRequest}


class AriClient:
    def __init__(self, base_url: str, user: str, password: str, app: str, *,
                 request_timeout: float = 3.0, reconnect_cap: float = 10.0, heartbeat: float = 2.0):
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._headers = {"Authorization": basic_auth(user, password)}
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._reconnect_cap = reconnect_cap
        self._heartbeat = heartbeat
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "AriClient":
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self

    async def _renew_session(self) -> None:
        """New connections for the REST requests: the pooled ones went silent with the websocket
        (a request on one would wait for its timeout), and requests still on them fail now."""
        old, self._session = self._session, aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        if old is not None:
            await old.close()

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("AriClient used outside 'async with'")
        return self._session

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json_body: Any = None) -> Any:
        url = f"{self.base_url}/ari{path}"
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.session.request(method, url, params=clean, json=json_body) as resp:
                body = await resp.read()
                if resp.status >= 400:
                    message = _error_message(body)
                    raise _ERRORS_BY_STATUS.get(resp.status, AriError)(method, path, resp.status, message)
                if not body:
                    return None
                if resp.content_type == "application/json":
                    return json.loads(body)
                return body
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as e:
            raise AriUnavailable(method, path, None, type(e).__name__) from e
        except aiohttp.ClientError as e:
            # A malformed answer: seen from Asterisk 22 on GET /recordings/stored/{name}/file
            # (the WAV without a status line) while `make bench` recorded 1,000 calls.
            raise AriUnavailable(method, path, None, f"malformed answer ({type(e).__name__})") from e

    # The requests the app uses, named as in the ARI Swagger documents.

    async def list_channels(self) -> list[dict]:
        return await self.request("GET", "/channels")

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def continue_in_dialplan(self, channel_id: str, *, context: str | None = None,
                                   extension: str | None = None, priority: int | None = None,
                                   label: str | None = None) -> None:
        await self.request("POST", f"/channels/{channel_id}/continue", params={
            "context": context, "extension": extension, "priority": priority, "label": label})

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{channel_id}", params={"reason": reason})

    async def originate(self, *, endpoint: str, channel_id: str, app_args: str, caller_id: str,
                        timeout: int, originator: str | None = None, variables: dict[str, str] | None = None) -> dict:
        """Ring an endpoint; when it answers, the channel enters our app with app_args.
        `variables` are set on the new channel (a FUNCTION() name writes the function)."""
        return await self.request("POST", "/channels", params={
            "endpoint": endpoint, "channelId": channel_id, "app": self.app, "appArgs": app_args,
            "callerId": caller_id, "timeout": timeout, "originator": originator},
            json_body={"variables": variables} if variables else None)

    async def originate_to_dialplan(self, *, endpoint: str, channel_id: str, context: str, extension: str,
                                    variables: dict[str, str], timeout: int) -> dict:
        """A Local channel that runs the dialplan, not our app, with these variables set on it
        (its other half's id: channel_id + "-2")."""
        return await self.request("POST", "/channels", params={
            "endpoint": endpoint, "channelId": channel_id, "otherChannelId": f"{channel_id}-2",
            "context": context, "extension": extension, "priority": 1, "timeout": timeout},
            json_body={"variables": variables})

    async def get_channel(self, channel_id: str) -> dict:
        return await self.request("GET", f"/channels/{channel_id}")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/ring")

    async def start_moh(self, channel_id: str, moh_class: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/moh")

    async def play(self, channel_id: str, media: str, lang: str | None = None, playback_id: str | None = None) -> dict:
        return await self.request("POST", f"/channels/{channel_id}/play",
                                  params={"media": media, "lang": lang, "playbackId": playback_id})

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/variable", params={"variable": variable, "value": value})

    async def transfer_progress(self, channel_id: str, states: str) -> None:
        """Tell the phone that asked for a transfer (REFER) how it goes: a NOTIFY with a SIP frag."""
        await self.request("POST", f"/channels/{channel_id}/transfer_progress", params={"states": states})

    async def create_bridge(self, bridge_id: str, name: str) -> dict:
        return await self.request("POST", "/bridges", params={"type": "mixing", "bridgeId": bridge_id, "name": name})

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/addChannel", params={"channel": ",".join(channel_ids)})

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/removeChannel", params={"channel": channel_id})

    async def start_bridge_moh(self, bridge_id: str, moh_class: str) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/moh", params={"mohClass": moh_class})

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}/moh")

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}")

    async def list_bridges(self) -> list[dict]:
        return await self.request("GET", "/bridges")

    async def get_endpoint(self, technology: str, resource: str) -> dict:
        return await self.request("GET", f"/endpoints/{technology}/{resource}")

    async def subscribe(self, event_source: str) -> dict:
        return await self.request("POST", f"/applications/{self.app}/subscription",
                                  params={"eventSource": event_source})

    async def unsubscribe(self, event_source: str) -> dict:
        return await self.request("DELETE", f"/applications/{self.app}/subscription",
                                  params={"eventSource": event_source})

    async def get_application(self) -> dict:
        """Our app as Asterisk has it: its subscriptions (channel_ids, endpoint_ids, ...)."""
        return await self.request("GET", f"/applications/{self.app}")

    async def filter_events(self, allowed: list[str]) -> None:
        """Only these event types reach our websocket (PUT /applications/{app}/eventFilter)."""
        await self.request("PUT", f"/applications/{self.app}/eventFilter",
                           json_body={"allowed": [{"type": t} for t in allowed]})

    async def events(self) -> AsyncIterator[dict]:
        """Events for our app, forever: reconnects with capped backoff when the socket drops."""
        ws_url = self.base_url.replace("http", "ws", 1) + "/ari/events"
        params = {"app": self.app, "subscribeAll": "false"}
        delay = 0.5
        while True:
            try:
                async with self.session.ws_connect(ws_url, params=params, heartbeat=self._heartbeat,
                                                   timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
                    log.info("ARI events connected: %s app=%s", ws_url, self.app)
                    delay = 0.5
                    yield {"type": CONNECTED}
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            try:
                                yield json.loads(msg.data)
                            except json.JSONDecodeError:
                                log.warning("ARI sent a malformed event: %.200s", msg.data)
                        elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            break
                if isinstance(ws.exception(), aiohttp.ServerTimeoutError):
                    log.warning("ARI events: no answer to a ping in %.1f s, the link is dead; reconnecting",
                                self._heartbeat * 1.5)
                    await self._renew_session()
                    delay = 0  # the other end did not close: nothing says it is down, try at once
                else:
                    log.warning("ARI events websocket closed; reconnecting")
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                log.warning("ARI events unavailable (%s); retrying in %.1f s", e, delay)
            await asyncio.sleep(delay)
            delay = min(max(delay, 0.25) * 2, self._reconnect_cap)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error_message(body: bytes) -> str:
    try:
        return json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        return body[:200].decode(errors="replace")
