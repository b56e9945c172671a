"""SQL for the second factor: TOTP secrets, recovery codes, logins waiting for a code, the roles that need one."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

ROLES_KEY = "second_factor.roles"


async def totp_row(conn: asyncpg.Connection, user_id: int, *, lock: bool = False) -> asyncpg.Record | None:
    """The user's TOTP row with the database's clock (locked until the transaction ends if asked)."""
    return await conn.fetchrow(
        f"""SELECT user_id, secret, enrolled_at, pending_secret, last_step, failures, last_failure_at, now() AS now
            FROM user_totp WHERE user_id = $1 {'FOR UPDATE' if lock else ''}""", user_id)


async def set_pending_secret(conn: asyncpg.Connection, user_id: int, secret: str) -> None:
    await conn.execute(
        """INSERT INTO user_totp (user_id, pending_secret) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET pending_secret = $2""", user_id, secret)


async def enrol(conn: asyncpg.Connection, user_id: int, step: int) -> None:
    """The pending secret becomes the user's, with the step of the code that confirmed it spent."""
    await conn.execute(
        """UPDATE user_totp SET secret = pending_secret, pending_secret = NULL, enrolled_at = now(),
                  last_step = $2, failures = 0, last_failure_at = NULL
           WHERE user_id = $1 AND pending_secret IS NOT NULL""", user_id, step)


async def spend_step(conn: asyncpg.Connection, user_id: int, step: int) -> bool:
    """Mark a step used; False when it (or a later one) already was: the code is a replay."""
    status = await conn.execute(
        """UPDATE user_totp SET last_step = $2, failures = 0, last_failure_at = NULL
           WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)""", user_id, step)
    return status.endswith(" 1")


async def count_failure(conn: asyncpg.Connection, user_id: int, forget_after: float) -> None:
    await conn.execute(
        """UPDATE user_totp SET
               failures = CASE WHEN last_failure_at IS NULL
                                 OR last_failure_at < now() - make_interval(secs => $2) THEN 1
                               ELSE failures + 1 END,
               last_failure_at = now()
           WHERE user_id = $1""", user_id, forget_after)


async def clear_failures(conn: asyncpg.Connection, user_id: int) -> None:
    await conn.execute("UPDATE user_totp SET failures = 0, last_failure_at = NULL WHERE user_id = $1", user_id)


async def remove(conn: asyncpg.Connection, user_id: int) -> bool:
    """The user's TOTP and recovery codes gone; True if they had a second factor."""
    status = await conn.execute("DELETE FROM user_totp WHERE user_id = $1 AND secret IS NOT NULL", user_id)
    await conn.execute("DELETE FROM user_totp WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
    return status.endswith(" 1")


# -- recovery codes ----------------------------------------------------------------------------

async def replace_recovery_codes(conn: asyncpg.Connection, user_id: int, hashes: list[bytes]) -> None:
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
    await conn.executemany("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                           [(user_id, h) for h in hashes])


async def use_recovery_code(conn: asyncpg.Connection, user_id: int, code_hash: bytes) -> bool:
    """Spend a recovery code; False if it is not one of the user's unused ones."""
    status = await conn.execute(
        "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        user_id, code_hash)
    return status.endswith(" 1")


async def recovery_codes_left(conn: asyncpg.Connection, user_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", user_id)


# -- the roles that need a second factor (app_settings) ----------------------------------------

async def required_roles(conn: asyncpg.Connection) -> list[str]:
    value = await conn.fetchval("SELECT value FROM app_settings WHERE key = $1", ROLES_KEY)
    return list(json.loads(value)) if value else []


async def set_required_roles(conn: asyncpg.Connection, roles: list[str], by: int) -> None:
    await conn.execute(
        """INSERT INTO app_settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = $3""",
        ROLES_KEY, json.dumps(roles), by)


async def end_sessions_without_second_factor(conn: asyncpg.Connection, roles: list[str],
                                             keep: bytes | None) -> int:
    """End the sessions of these roles' users who have no second factor (all but `keep`):
    their next login sets one up."""
    status = await conn.execute(
        """DELETE FROM web_sessions s USING users u
           WHERE u.id = s.user_id AND u.role = ANY($1::text[]) AND s.token_hash IS DISTINCT FROM $2
             AND NOT EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = u.id AND t.secret IS NOT NULL)""",
        roles, keep)
    return int(status.split()[-1])


async def users_with_status(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every user not deleted, with when they set up a second factor and how many recovery codes are left."""
    return await conn.fetch(
        """SELECT u.id, u.login, u.full_name, u.role, u.is_blocked, t.enrolled_at,
                  (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS codes_left
           FROM users u LEFT JOIN user_totp t ON t.user_id = u.id AND t.secret IS NOT NULL
           WHERE u.deleted_at IS NULL ORDER BY u.full_name, u.id""")


# -- logins waiting for their second factor ----------------------------------------------------

async def insert_pending(conn: asyncpg.Connection, token_hash: bytes, user_id: int, expires_at: dt.datetime,
                         remote_addr: str | None, next_path: str) -> None:
    await conn.execute(
        """INSERT INTO second_factor_pending (token_hash, user_id, expires_at, remote_addr, next_path)
           VALUES ($1, $2, $3, $4, $5)""", token_hash, user_id, expires_at, remote_addr, next_path)


async def pending_user(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    """The active user of a live pending login, with where the login was going."""
    return await conn.fetchrow(
        """SELECT u.id, u.login, u.full_name, u.role, p.next_path
           FROM second_factor_pending p JOIN users u ON u.id = p.user_id
           WHERE p.token_hash = $1 AND p.expires_at > now() AND NOT u.is_blocked AND u.deleted_at IS NULL""",
        token_hash)


async def delete_pending(conn: asyncpg.Connection, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM second_factor_pending WHERE token_hash = $1 OR expires_at <= now()", token_hash)


async def delete_user_pending(conn: asyncpg.Connection, user_id: int) -> None:
    await conn.execute("DELETE FROM second_factor_pending WHERE user_id = $1", user_id)
