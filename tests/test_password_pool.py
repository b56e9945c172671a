"""argon2 runs off the event loop, in a bounded pool (issue 12).

The app runs in-process on the test's own event loop (httpx2's ASGI transport,
the same in-process way as Starlette's TestClient), so the test can see
whether that loop is free while password checks are under way.
"""

import asyncio
import threading

import httpx2
import pytest

from crm import passwords
from tests.helpers import PASSWORD, csrf_from, make_user
from web.app import create_app


@pytest.fixture
def blocked_verify(monkeypatch):
    """verify_password that waits until released, and records the thread it ran on.

    On the event loop's own thread it does not wait (that would hang the test
    instead of failing it): it records the thread and answers at once.
    """
    loop_thread = threading.current_thread()
    state = {"threads": [], "started": threading.Semaphore(0), "release": threading.Event(),
             "loop_thread": loop_thread}
    real = passwords.verify_password

    def verify(stored_hash, password):
        state["threads"].append(threading.current_thread())
        if threading.current_thread() is not loop_thread:
            state["started"].release()
            state["release"].wait(30)
        return real(stored_hash, password)

    monkeypatch.setattr(passwords, "verify_password", verify)
    yield state
    state["release"].set()


def _in_process(db, settings) -> httpx2.AsyncClient:
    app = create_app(settings)
    app.state.pool = db  # what the lifespan would set up
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app, client=("192.0.2.50", 1000)),
                              base_url="http://testserver")


async def _started(state, count: int) -> bool:
    for _ in range(count):
        if not await asyncio.to_thread(state["started"].acquire, True, 10):
            return False
    return True


async def test_healthz_answers_while_eight_logins_are_being_verified(db, settings, blocked_verify):
    names = [f"flood{i}" for i in range(8)]
    for name in names:
        await make_user(db, name)
    async with _in_process(db, settings) as client:
        token = csrf_from((await client.get("/login")).text)
        logins = [asyncio.create_task(client.post("/login", data={"login": n, "password": PASSWORD,
                                                                    "csrf_token": token}))
                  for n in names]
        # Both pool threads are now inside a verification that cannot finish yet...
        assert await _started(blocked_verify, 2), "no verification started off the event loop"
        # ...and the loop still serves everyone else.
        health = await asyncio.wait_for(client.get("/healthz"), 10)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert not any(t.done() for t in logins)
        blocked_verify["release"].set()
        results = await asyncio.wait_for(asyncio.gather(*logins), 60)
    assert [r.status_code for r in results] == [303] * 8
    threads = blocked_verify["threads"]
    assert len(threads) == 8
    assert all(t is not blocked_verify["loop_thread"] and t.name.startswith("argon2") for t in threads)
    assert passwords.GATE.in_use == 0


async def test_a_flood_beyond_the_bound_is_told_to_come_back_at_once(db, settings, blocked_verify, monkeypatch):
    monkeypatch.setattr(passwords, "GATE", passwords._Gate(3))
    await make_user(db, "busy")
    async with _in_process(db, settings) as client:
        token = csrf_from((await client.get("/login")).text)
        form = {"login": "busy", "password": PASSWORD, "csrf_token": token}
        admitted = [asyncio.create_task(client.post("/login", data=form)) for _ in range(3)]
        assert await _started(blocked_verify, 2)
        for _ in range(100):
            if passwords.GATE.in_use == 3:
                break
            await asyncio.sleep(0.05)
        assert passwords.GATE.in_use == 3
        r = await asyncio.wait_for(client.post("/login", data=form), 10)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert "busy checking passwords; try again in a moment" in r.text
        j = await client.post("/login", data=form, headers={"accept": "application/json"})
        assert j.status_code == 503 and j.json()["retry_after"] == 1
        blocked_verify["release"].set()
        results = await asyncio.wait_for(asyncio.gather(*admitted), 60)
    # A refusal for being busy is not a failed attempt.
    assert [r.status_code for r in results] == [303] * 3
    assert passwords.GATE.in_use == 0


async def test_simultaneous_guesses_at_one_login_get_no_more_tries_than_one_at_a_time(db, settings, blocked_verify,
                                                                                        monkeypatch):
    from crm.users import throttle

    monkeypatch.setattr(throttle, "LOGIN", throttle.Policy(free_failures=2, base_delay=60))
    await make_user(db, "target")
    async with _in_process(db, settings) as client:
        token = csrf_from((await client.get("/login")).text)
        guesses = [asyncio.create_task(client.post("/login", data={"login": "target", "password": f"guess {i}",
                                                                   "csrf_token": token}))
                   for i in range(6)]
        assert await _started(blocked_verify, 2)
        # Each attempt counted before its check ran: the others were turned away without one.
        for _ in range(200):
            if sum(t.done() for t in guesses) >= 4:
                break
            await asyncio.sleep(0.05)
        done = [t for t in guesses if t.done()]
        assert len(done) == 4 and all(t.result().status_code == 429 for t in done)
        blocked_verify["release"].set()
        results = await asyncio.wait_for(asyncio.gather(*guesses), 60)
    assert sorted(r.status_code for r in results) == [400, 400, 429, 429, 429, 429]
    assert len(blocked_verify["threads"]) == 2
