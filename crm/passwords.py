"""Password hashing with argon2id, off the event loop; rules for new passwords.

argon2 is slow on purpose (tens of milliseconds of CPU and memory per hash):
run on the event loop it stalls every request of the process. The async
functions here run it in a small thread pool instead, and admit only a
bounded number of jobs at a time: past that a caller gets Busy at once (the
web answers 503 "try again") instead of queueing behind a login flood.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
from collections.abc import Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm.errors import DomainError
from crm.i18n import _, ngettext

_hasher = PasswordHasher()

MIN_LENGTH = 10
MAX_LENGTH = 1024
# Two threads: argon2 releases the GIL, and the machines have two cores.
WORKERS = 2
# Jobs admitted at once (running or waiting for a thread); more are turned away.
MAX_JOBS = 16

_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="argon2")


class WeakPassword(ValueError):
    pass


class Busy(DomainError):
    status = 503

    def __init__(self) -> None:
        super().__init__(_("the server is busy checking passwords; try again in a moment"))


# -- the rules for a new password ------------------------------------------------

@functools.cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords of public leaks, lower-cased.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _squeezed(text: str) -> str:
    return "".join(text.split()).casefold()


def check_new_password(password: str, *, login: str = "", full_name: str = "") -> None:
    """Raise WeakPassword, naming the rule, for a password that must not be set."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(ngettext("a password needs at least %(num)d character",
                                    "a password needs at least %(num)d characters", MIN_LENGTH) % {"num": MIN_LENGTH})
    if len(password) > MAX_LENGTH:
        raise WeakPassword(ngettext("a password has at most %(num)d character",
                                    "a password has at most %(num)d characters", MAX_LENGTH) % {"num": MAX_LENGTH})
    squeezed = _squeezed(password)
    if squeezed in {_squeezed(login), _squeezed(full_name)} - {""}:
        raise WeakPassword(_("a password must not be the login or the user's name"))
    common = _common_passwords()
    lowered = password.casefold()
    if lowered in common or squeezed in common:
        raise WeakPassword(_("this password is one of the most common passwords; choose another"))
    # "dragon2024!", "!!qwerty1234": a common password with a few digits or symbols added.
    core = lowered.strip("0123456789!@#$%^&*()_+-=.,?;:'\"~` ")
    if len(core) >= 4 and len(lowered) - len(core) <= 6 and core in common:
        raise WeakPassword(_("this password is a common password with digits or symbols added; choose another"))


# -- hashing, on the calling thread ----------------------------------------------

def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


# Verified against when the login does not exist, so that a missing user and a
# wrong password take the same time.
DUMMY_HASH = _hasher.hash("not-a-real-password")


# -- hashing, off the event loop -------------------------------------------------

class _Gate:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self.in_use = 0
        self._lock = threading.Lock()  # the web app's loop and a CLI's may be different threads

    def take(self) -> None:
        with self._lock:
            if self.in_use >= self.capacity:
                raise Busy()
            self.in_use += 1

    def give(self) -> None:
        with self._lock:
            self.in_use -= 1


GATE = _Gate(MAX_JOBS)


class Ticket:
    """One admitted caller: may run argon2 jobs in the pool, one after another."""

    def __init__(self) -> None:
        self._job: concurrent.futures.Future | None = None

    async def run(self, fn, *args):
        self._job = _EXECUTOR.submit(fn, *args)
        return await asyncio.wrap_future(self._job)

    async def verify(self, stored_hash: str, password: str) -> bool:
        # Looked up at call time, so tests can stand in for it.
        return await self.run(verify_password, stored_hash, password)

    async def hash(self, password: str) -> str:
        return await self.run(hash_password, password)

    def _close(self) -> None:
        job = self._job
        if job is not None and not job.done():
            # The caller gave up (a dropped request); the thread still works: keep its place until it ends.
            job.add_done_callback(lambda _: GATE.give())
        else:
            GATE.give()


@contextlib.contextmanager
def admitted() -> Iterator[Ticket]:
    """A place in the bounded pool, or Busy at once."""
    GATE.take()
    ticket = Ticket()
    try:
        yield ticket
    finally:
        ticket._close()


async def hash_password_async(password: str) -> str:
    with admitted() as ticket:
        return await ticket.hash(password)


async def verify_password_async(stored_hash: str, password: str) -> bool:
    with admitted() as ticket:
        return await ticket.verify(stored_hash, password)
