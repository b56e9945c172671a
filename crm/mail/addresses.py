"""E-mail addresses as the CRM compares them: lower case, display names apart, the way
contacts.normalized keeps them (crm/counterparties/contacts.py)."""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import getaddresses, parseaddr

MAX_ADDRESS = 320


def normalize_address(raw: str | None) -> str:
    """'Ivan <Ivan@Example.RU>' -> 'ivan@example.ru'; '' when there is no usable address."""
    if not raw:
        return ""
    _, address = parseaddr(str(raw))
    address = address.strip().lower()
    if "@" not in address or len(address) > MAX_ADDRESS or any(c.isspace() for c in address):
        return ""
    local, _, domain = address.rpartition("@")
    if not local or not domain or "." not in domain:
        return ""
    return address


def address_list(values: list[str] | tuple[str, ...] | None) -> list[tuple[str, str]]:
    """Header values (To, Cc: each may list several) -> [(display name, normalized address)], each address
    once, in order; the unreadable ones are left out."""
    seen: set[str] = set()
    result = []
    for name, address in getaddresses([str(v) for v in values or ()]):
        normalized = normalize_address(address)
        if normalized and normalized not in seen:
            seen.add(normalized)
            result.append((name.strip(), normalized))
    return result


def format_address(name: str, address: str) -> str:
    """For a header: 'Ivan Petrov <ivan@example.ru>', quoted and encoded as needed."""
    if not name:
        return address
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))
