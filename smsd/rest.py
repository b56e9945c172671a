"""What the SIP MESSAGE and HTTP adapters share (issue 21): one REST request per submit, on an aiohttp
session opened at start, and what a failed request means for the message."""

from __future__ import annotations

import asyncio

import aiohttp
from multidict import CIMultiDictProxy

from crm.sms.gateway import Inbox, Refused, Retry

UNAVAILABLE_SECONDS = 15.0  # after a refused connection or a 5xx


class RestGateway:
    window = 10  # messages the worker keeps in flight at once

    def __init__(self, gateway_id: int, authorization: str, request_seconds: float) -> None:
        self.gateway_id = gateway_id
        self._headers = {"Authorization": authorization}
        self._timeout = aiohttp.ClientTimeout(total=request_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def start(self, inbox: Inbox) -> None:
        """Nothing to keep open; what comes back (receipts, incoming texts) arrives elsewhere."""
        self._http()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, method: str, url: str, peer: str, **kwargs) -> tuple[int, str, CIMultiDictProxy[str]]:
        """The answer's status, text and headers. No connection: Retry. Sent but no answer: Refused,
        as it may have gone out, and nobody must get a text twice."""
        try:
            async with self._http().request(method, url, **kwargs) as resp:
                return resp.status, await resp.text(), resp.headers
        except aiohttp.ClientConnectorError as e:
            raise Retry(f"{peer} does not answer ({type(e).__name__})", after=UNAVAILABLE_SECONDS) from e
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            raise Refused(f"no answer from {peer} ({type(e).__name__}); not sent again") from e
