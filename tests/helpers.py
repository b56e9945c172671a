"""Helpers shared by tests: users, logged-in web clients."""

from __future__ import annotations

import email
import email.policy
import io
import re
import time

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from openpyxl import Workbook
from starlette.testclient import TestClient

from crm.users.accounts import NewUser, create_user
from tests.browser import free_tcp_port

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


def log_in_as(client: TestClient, login_name: str) -> None:
    """A fresh session as this user: the last one's cookies gone, the login accepted."""
    client.cookies.clear()
    assert login(client, login_name).status_code == 303


def post_form(client: TestClient, path: str, data: dict | None = None, files: dict | None = None):
    """A form POST with the session's CSRF token, its redirect not followed."""
    return client.post(path, data={"csrf_token": client.cookies["pbxcrm_csrf"], **(data or {})}, files=files,
                       follow_redirects=False)


CLIENT_PHONE = "+7 495 123-45-67"


async def ivanova_and_her_client(pool: asyncpg.Pool) -> tuple[asyncpg.Record, int]:
    """Manager Irina Ivanova (extension 102) and her client Sokolov Ivan, phone +7 495 123-45-67."""
    from crm.counterparties import service
    from crm.counterparties.model import ContactInput, CounterpartyInput

    ivanova = await make_user(pool, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    async with pool.acquire() as conn:
        client = await service.create(conn, ivanova, CounterpartyInput(
            kind="client", last_name="Sokolov", first_name="Ivan", responsible_user_id=ivanova["id"],
            contacts=(ContactInput("phone", CLIENT_PHONE),)), "RU")
    return ivanova, client


async def routing_crm(pool: asyncpg.Pool) -> dict:
    """Ivanova and her client, and Pavel Petrov (extension 103) answering the default queue:
    the manager rings 3 s, the queue 5 s at a time for at most 20 s."""
    from crm.routing.queries import set_manager_ring_seconds

    ivanova, client = await ivanova_and_her_client(pool)
    petrov = await make_user(pool, "petrov", "operator", full_name="Pavel Petrov", extension="103")
    async with pool.acquire() as conn:
        queue = await conn.fetchval("UPDATE queues SET ring_seconds = 5, max_wait_seconds = 20, strategy = 'ringall' "
                                    "WHERE is_default RETURNING id")
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", queue, petrov["id"])
        await set_manager_ring_seconds(conn, 3, None)
    return {"ivanova": ivanova, "petrov": petrov, "client": client, "queue": queue}


async def queue_of_three(pool: asyncpg.Pool) -> dict:
    """routing_crm, with Sveta Sidorova (104) and Oleg Orlov (105) joining Petrov in the default queue."""
    crm = await routing_crm(pool)
    for login, name, extension in (("sidorova", "Sveta Sidorova", "104"), ("orlov", "Oleg Orlov", "105")):
        user = await make_user(pool, login, "operator", full_name=name, extension=extension)
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, 1)",
                               crm["queue"], user["id"])
        crm[login] = user
    return crm


async def finished_call(pool: asyncpg.Pool, caller_number: str) -> asyncpg.Record | None:
    """The call log row of a call from this number, once it has ended."""
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM calls WHERE caller_number = $1 AND ended_at IS NOT NULL",
                                   caller_number)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(header, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(web, content: bytes, kind="counterparties", mode="valid", name="clients.xlsx", headers=None):
    """Upload a file to /import and wait for its job to end; the job as the API shows it."""
    r = web.post("/import", files={"file": (name, content, XLSX)},
                 data={"csrf_token": web.cookies["pbxcrm_csrf"], "kind": kind, "mode": mode},
                 headers=headers, follow_redirects=False)
    assert r.status_code == 303, r.text
    return import_job_result(web, int(r.headers["location"].rsplit("/", 1)[1]))


def import_job_result(web, job_id: int, timeout: float = 60) -> dict:
    """The import job once it has ended (done, refused or failed), as the API shows it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = web.get(f"/api/imports/{job_id}").json()
        if job["status"] in ("done", "refused", "failed"):
            return job
        time.sleep(0.1)
    pytest.fail(f"import {job_id} did not finish: {job}")


class Mailbox:
    """An SMTP server's inbox (aiosmtpd on loopback): what the CRM mailed, as (recipients, raw message)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode(errors="replace")))
        return "250 OK"

    def subjects_to(self, address):
        return [next(line[9:] for line in body.splitlines() if line.startswith("Subject: "))
                for rcpt, body in self.messages if address in rcpt]

    def mails_to(self, address) -> list:
        """The messages to `address`, parsed: headers and body decoded (msg["Subject"], msg.get_content())."""
        return [email.message_from_bytes(body.encode(), policy=email.policy.default)
                for rcpt, body in self.messages if address in rcpt]


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_tcp_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


# A 60 s lock read a moment later: "in 1 minute", or "in 59 seconds" on a loaded machine.
LOCKED_FOR_A_MINUTE = re.compile(
    r"Too many failed attempts for this login; try again in (1 minute|[1-5]?[0-9] seconds?)")
