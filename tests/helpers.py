"""Helpers shared by tests: users, logged-in web clients."""

from __future__ import annotations

import re

import asyncpg
from starlette.testclient import TestClient

from crm.users.accounts import NewUser, create_user

PASSWORD = "correct horse battery"


async def make_user(pool: asyncpg.Pool, login: str, role: str = "operator", **kw) -> asyncpg.Record:
    async with pool.acquire() as conn:
        return await create_user(conn, NewUser(login=login, full_name=kw.pop("full_name", login.title()),
                                               password=kw.pop("password", PASSWORD), role=role, **kw))


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)


def login(client: TestClient, login_name: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"login": login_name, "password": password,
                                       "csrf_token": csrf_from(page.text)}, follow_redirects=False)
