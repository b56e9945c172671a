"""argon2id at the product's cost, checked once here: the rest of the suite hashes at the cheapest
cost in its own process (tests/conftest.py cheap_password_hashes), to save the ~0.3 s a hash takes.

A user made by the product gets the product's argon2id parameters and logs in with them; a hash
made at another cost (the suite's cheap ones, or the product's older parameters) is upgraded at
the user's next login; a login nobody has is checked against a dummy hash of the same cost.
"""

from __future__ import annotations

import pytest

from crm import passwords
from tests.conftest import PRODUCTION_DUMMY_HASH, PRODUCTION_HASHER
from tests.helpers import PASSWORD, login, make_user

PRODUCT_PARAMETERS = "$argon2id$v=19$m=65536,t=3,p=4$"


@pytest.fixture
def product_cost(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)
    monkeypatch.setattr(passwords, "DUMMY_HASH", PRODUCTION_DUMMY_HASH)


async def _hash_of(pool, login_name: str) -> str:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT password_hash FROM users WHERE login = $1", login_name)


def test_the_product_hashes_with_argon2id_at_its_cost():
    assert PRODUCTION_HASHER.hash(PASSWORD).startswith(PRODUCT_PARAMETERS)
    assert PRODUCTION_DUMMY_HASH.startswith(PRODUCT_PARAMETERS), "a missing login costs what a wrong password does"


async def test_a_user_made_at_the_products_cost_logs_in(product_cost, web, db):
    await make_user(db, "costly")
    stored = await _hash_of(db, "costly")
    assert stored.startswith(PRODUCT_PARAMETERS)
    assert not passwords.needs_rehash(stored)
    assert login(web, "costly", "wrong password!").status_code == 400
    assert login(web, "nobody-here").status_code == 400  # checked against the dummy hash
    assert login(web, "costly").status_code == 303
    assert await _hash_of(db, "costly") == stored, "a hash at the product's cost is kept"


async def test_a_hash_at_another_cost_is_upgraded_at_login(web, db, monkeypatch):
    await make_user(db, "cheap")  # at the suite's cheap cost
    cheap = await _hash_of(db, "cheap")
    assert not cheap.startswith(PRODUCT_PARAMETERS)
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)
    assert passwords.needs_rehash(cheap)
    assert login(web, "cheap").status_code == 303
    upgraded = await _hash_of(db, "cheap")
    assert upgraded.startswith(PRODUCT_PARAMETERS)
    assert passwords.verify_password(upgraded, PASSWORD)
