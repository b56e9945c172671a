"""Open screen-pop streams do not hold database connections (the pool has 10 per worker):
the session is checked on a connection of its own, given back before the response streams."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.helpers import PASSWORD, csrf_from, make_user

STREAMS = 14  # more than the web worker's pool


async def test_many_open_event_streams_leave_the_pages_working(db, web_server):
    await make_user(db, "olga", "operator")
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(web_server.url, cookie_jar=jar,
                                     headers={"Origin": web_server.url}) as http:
        async with http.get("/login") as r:
            token = csrf_from(await r.text())
        async with http.post("/login", data={"login": "olga", "password": PASSWORD, "csrf_token": token},
                             allow_redirects=False) as r:
            assert r.status in (302, 303), await r.text()
        streams = [await http.get("/events", timeout=aiohttp.ClientTimeout(total=None)) for _ in range(STREAMS)]
        try:
            assert all(s.status == 200 for s in streams)
            async with asyncio.timeout(5):  # before the fix: waits forever for a connection
                async with http.get("/clients") as page:
                    assert page.status == 200
                    assert "Clients" in await page.text()
        finally:
            for s in streams:
                s.close()
