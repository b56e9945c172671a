"""The poller's decisions, without I/O: which addresses a message is filed by, which thread it joins,
where a folder's reading starts, how long to wait before reconnecting, when to give up on a message."""

from __future__ import annotations

from crm.mail.inbound.parse import Parsed

RECONNECT_BASE_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 60.0
# A message the database keeps refusing (not unavailable: refusing) is tried this many times, the last
# time reduced to its headers; then the cursor passes it and the reason is logged.
MAX_STORE_ATTEMPTS = 3


def card_addresses(parsed: Parsed, own_address: str) -> list[str]:
    """The addresses a message is filed by: its From, To and Cc, each once, never the mailbox's own."""
    own = own_address.strip().lower()
    seen: dict[str, None] = {}
    for address in [parsed.from_address, *parsed.to, *parsed.cc]:
        if address and address != own:
            seen.setdefault(address)
    return list(seen)


def thread_parents(parsed: Parsed) -> list[str]:
    """The Message-IDs whose thread this one joins, the nearest first: In-Reply-To, then References
    from the last (the direct parent) back to the first (the thread's start)."""
    ids = [parsed.in_reply_to, *reversed(parsed.references)]
    return [i for i in dict.fromkeys(ids) if i and i != parsed.message_id]


def status_for(matched_cards: int) -> str:
    return "filed" if matched_cards else "unfiled"


def start_after(stored: tuple[int, int] | None, server_uidvalidity: int) -> int:
    """The UID after which a folder is read: the stored cursor's, or 0 when there is none or the folder's
    UIDVALIDITY changed (the folder was recreated: its UIDs mean other messages now; Message-IDs keep the
    ones already filed from being filed again)."""
    if stored is None:
        return 0
    uidvalidity, last_uid = stored
    return last_uid if uidvalidity == server_uidvalidity else 0


def reconnect_delay(failures: int) -> float:
    """Seconds before the next connection attempt after `failures` failed ones in a row (1, 2, 4 ... 60)."""
    return min(RECONNECT_MAX_SECONDS, RECONNECT_BASE_SECONDS * 2 ** max(0, failures - 1))


def store_plan(attempt: int) -> str:
    """What to try on a message's `attempt`-th try (1-based) after the database refused the earlier ones:
    'full' the message; 'headers' only (bodies and attachments left out, the reason kept); 'skip' it: the
    cursor passes it, logged with its UID and reason (never one message read forever)."""
    if attempt <= 1:
        return "full"
    if attempt < MAX_STORE_ATTEMPTS:
        return "headers"
    return "skip"


def batches(sizes: list[tuple[int, int]], max_bytes: int, max_count: int) -> list[list[int]]:
    """(uid, size) in UID order -> lists of UIDs fetched together: at most max_count and about max_bytes
    each (a message bigger than max_bytes comes alone)."""
    result: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid, size in sizes:
        if current and (len(current) >= max_count or total + size > max_bytes):
            result.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        result.append(current)
    return result
