"""SQL for users and web sessions."""

from __future__ import annotations

import datetime as dt

import asyncpg

_USER_COLUMNS = ("id, login, full_name, role, extension, email, is_blocked, deleted_at, created_at, "
                 "language, timezone, dial, mobile, follow_me_seconds, must_change_password, phone_mode, "
                 "day_start_hour, customer_id")


async def insert_user(conn: asyncpg.Connection, *, login: str, full_name: str, password_hash: str,
                      role: str, extension: str | None, email: str | None,
                      customer_id: int | None = None) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO users (login, full_name, password_hash, role, extension, email, customer_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_USER_COLUMNS}""",
        login, full_name, password_hash, role, extension, email, customer_id,
    )


async def user_with_hash_by_login(conn: asyncpg.Connection, login: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE lower(login) = lower($1)", login
    )


async def set_password_hash(conn: asyncpg.Connection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1", user_id, password_hash
    )


async def set_must_change_password(conn: asyncpg.Connection, user_id: int, must: bool) -> None:
    """Whether the user is sent to change their password before anything else (an admin's reset)."""
    await conn.execute("UPDATE users SET must_change_password = $2 WHERE id = $1", user_id, must)


async def user_by_id(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)


async def insert_session(conn: asyncpg.Connection, token_hash: bytes, user_id: int,
                         expires_at: dt.datetime, remote_addr: str | None) -> None:
    await conn.execute(
        """INSERT INTO web_sessions (token_hash, user_id, expires_at, remote_addr)
           VALUES ($1, $2, $3, $4)""",
        token_hash, user_id, expires_at, remote_addr,
    )


async def session_user(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    """The active user behind a live session; touches the session as it reads it, at most once a minute
    (issue 25: a write on every request, and its commit's flush, cost more than all the rest of the check)."""
    return await conn.fetchrow(
        f"""WITH s AS (
                SELECT user_id FROM web_sessions WHERE token_hash = $1 AND expires_at > now()),
            touched AS (
                UPDATE web_sessions SET last_seen_at = now()
                WHERE token_hash = $1 AND expires_at > now() AND last_seen_at < now() - interval '1 minute')
            SELECT {', '.join('u.' + c.strip() for c in _USER_COLUMNS.split(','))},
                   (SELECT value #>> '{{}}' FROM app_settings WHERE key = 'locale.language') AS centre_language,
                   -- The IP allow-list entries that can apply (crm/allowlist/rules.py decides), in the same
                   -- round trip: the check on every request costs no connection of its own.
                   ARRAY(SELECT network FROM ip_allow_entries e WHERE e.user_id = u.id) AS allow_own,
                   ARRAY(SELECT network FROM ip_allow_entries e WHERE e.role = u.role AND e.user_id IS NULL)
                       AS allow_role
            FROM s JOIN users u ON u.id = s.user_id
            WHERE NOT u.is_blocked AND u.deleted_at IS NULL""",
        token_hash,
    )


async def delete_session(conn: asyncpg.Connection, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE token_hash = $1", token_hash)


async def delete_expired_sessions(conn: asyncpg.Connection) -> int:
    status = await conn.execute("DELETE FROM web_sessions WHERE expires_at <= now()")
    return int(status.split()[-1])


async def list_users(conn: asyncpg.Connection, *, include_deleted: bool = False) -> list[asyncpg.Record]:
    where = "" if include_deleted else "WHERE deleted_at IS NULL"
    return await conn.fetch(f"SELECT {_USER_COLUMNS} FROM users {where} ORDER BY deleted_at NULLS FIRST, full_name")


async def update_user(conn: asyncpg.Connection, user_id: int, *, full_name: str, role: str,
                      extension: str | None, email: str | None, is_blocked: bool,
                      customer_id: int | None = None) -> None:
    await conn.execute(
        """UPDATE users SET full_name = $2, role = $3, extension = $4, email = $5, is_blocked = $6,
                  customer_id = $7, updated_at = now() WHERE id = $1 AND deleted_at IS NULL""",
        user_id, full_name, role, extension, email, is_blocked, customer_id)


async def soft_delete_user(conn: asyncpg.Connection, user_id: int) -> None:
    # The row stays, so the user's name stays on everything they touched.
    await conn.execute("UPDATE users SET deleted_at = now(), extension = NULL, updated_at = now() WHERE id = $1",
                       user_id)
    await conn.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)


async def active_logins(conn: asyncpg.Connection) -> dict[str, int]:
    """Lower-cased login -> id of every user who may be given work."""
    return {r["login"].lower(): r["id"] for r in await conn.fetch(
        "SELECT id, login FROM users WHERE deleted_at IS NULL AND NOT is_blocked")}


async def active_user_by_extension(conn: asyncpg.Connection, extension: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE extension = $1 AND deleted_at IS NULL AND NOT is_blocked",
        extension)


async def delete_user_sessions(conn: asyncpg.Connection, user_id: int, *, keep: bytes | None = None) -> int:
    """End the user's sessions, all but `keep` (the token hash of the one in use) if given."""
    status = await conn.execute("DELETE FROM web_sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
                                user_id, keep)
    return int(status.split()[-1])


# Login throttling (crm/users/throttle.py decides, crm/users/login.py runs it).

async def lock_failures(conn: asyncpg.Connection, scope: str, key: str) -> asyncpg.Record:
    """This key's count, its row locked until the transaction ends, with the database's clock."""
    return await conn.fetchrow(
        """INSERT INTO login_failures AS f (scope, key) VALUES ($1, $2)
           ON CONFLICT (scope, key) DO UPDATE SET failures = f.failures
           RETURNING failures, last_failure_at, now() AS now""",
        scope, key)


async def failures(conn: asyncpg.Connection, scope: str, key: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """SELECT f.failures, f.last_failure_at, now() AS now FROM (SELECT 1) one
           LEFT JOIN login_failures f ON f.scope = $1 AND f.key = $2""",
        scope, key)


async def count_failure(conn: asyncpg.Connection, scope: str, key: str, forget_after: float) -> int:
    """One more failure for this key (starting from one if the last is forgotten); the new count."""
    return await conn.fetchval(
        """INSERT INTO login_failures AS f (scope, key, failures, last_failure_at) VALUES ($1, $2, 1, now())
           ON CONFLICT (scope, key) DO UPDATE SET
               failures = CASE WHEN f.last_failure_at IS NULL
                                 OR f.last_failure_at < now() - make_interval(secs => $3) THEN 1
                               ELSE f.failures + 1 END,
               last_failure_at = now()
           RETURNING failures""",
        scope, key, forget_after)


async def uncount_failure(conn: asyncpg.Connection, scope: str, key: str) -> None:
    await conn.execute(
        "UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE scope = $1 AND key = $2", scope, key)


async def clear_failures(conn: asyncpg.Connection, scope: str, key: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE scope = $1 AND key = $2", scope, key)


async def counted_failures(conn: asyncpg.Connection, at_least: int) -> list[asyncpg.Record]:
    """Counts of at least this many failures, the login's user if one has that login (the locks page)."""
    return await conn.fetch(
        """SELECT f.scope, f.key, f.failures, f.last_failure_at, now() AS now, u.id AS user_id, u.full_name
           FROM login_failures f
           LEFT JOIN users u ON f.scope = 'login' AND lower(u.login) = f.key AND u.deleted_at IS NULL
           WHERE f.failures >= $1 ORDER BY f.last_failure_at DESC""", at_least)


async def lift_failures(conn: asyncpg.Connection, scope: str, key: str) -> asyncpg.Record | None:
    """Deletes a count (an admin lifts a lock); the row as it was, None when there was none."""
    return await conn.fetchrow(
        """DELETE FROM login_failures f WHERE f.scope = $1 AND f.key = $2
           RETURNING f.failures, f.last_failure_at,
                     (SELECT id FROM users u WHERE f.scope = 'login' AND lower(u.login) = f.key) AS user_id""",
        scope, key)


async def forget_old_failures(conn: asyncpg.Connection, older_than: float) -> None:
    await conn.execute("DELETE FROM login_failures WHERE last_failure_at < now() - make_interval(secs => $1)",
                       older_than)


async def set_locale(conn: asyncpg.Connection, user_id: int, language: str | None, timezone: str | None,
                     day_start_hour: int | None = None) -> None:
    """The user's own language and clock (None: the call centre's), and the hour their day starts."""
    await conn.execute(
        "UPDATE users SET language = $2, timezone = $3, day_start_hour = coalesce($4, day_start_hour) WHERE id = $1",
        user_id, language, timezone, day_start_hour)
