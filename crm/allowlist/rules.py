"""Who may work from which address: the allow-list decision, without I/O.

An entry names a network (IPv4 or IPv6, CIDR) and either a role or one user.
A user's list is:
- their own entries, when they have any: these REPLACE their role's list, so one user can be
  restricted more tightly than their role (a single office) or let out further (their home
  address, or 0.0.0.0/0 and ::/0 for anywhere);
- otherwise their role's entries;
- no entry for the user or their role: they may work from anywhere.

An IPv4 client seen through an IPv6 socket (::ffff:203.0.113.5) is its IPv4 address, and an
IPv4-mapped network typed by an admin (::ffff:10.0.0.0/104) is stored as the IPv4 network.
An unknown address is never inside a list.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from crm.errors import ValidationError
from crm.i18n import _

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
ANYWHERE: tuple[Network, ...] = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


@dataclass(frozen=True)
class Entry:
    network: Network
    role: str | None = None
    user_id: int | None = None


def parse_address(value: str | Address | None) -> Address | None:
    """The address as the lists compare it (IPv4-mapped IPv6 as IPv4), None when it is not one."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = ipaddress.ip_address(value.strip().split("%", 1)[0])
        except ValueError:
            return None
    if isinstance(value, ipaddress.IPv6Address) and value.ipv4_mapped is not None:
        return value.ipv4_mapped
    return value


def parse_network(text: str) -> Network:
    """A network an admin typed: 10.0.0.0/8, 2001:db8::/32, or one address (a /32 or /128).

    ValidationError (field "network") with the reason for anything else, host bits included:
    10.1.2.3/8 is refused with its network named, rather than silently widened or narrowed.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError({"network": _("give a network, e.g. 192.0.2.0/24 or 2001:db8::/32")})
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            wider = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValidationError({"network": _("%(text)s is not a network: write it as 192.0.2.0/24, "
                                                "2001:db8::/32 or a single address")
                                              % {"text": text[:60]}}) from None
        raise ValidationError({"network": _("%(text)s has bits set past its prefix: did you mean %(network)s?")
                                          % {"text": text, "network": str(wider)}}) from None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96 and network.subnet_of(_MAPPED):
        first = network.network_address.ipv4_mapped
        assert first is not None
        network = ipaddress.ip_network(f"{first}/{network.prefixlen - 96}")
    return network


def session_entries(user: Mapping) -> list[Entry]:
    """The entries the session check read with the user (allow_own, allow_role: lists of networks)."""
    return ([Entry(n, user_id=user["id"]) for n in user.get("allow_own") or ()]
            + [Entry(n, role=user["role"]) for n in user.get("allow_role") or ()])


def applicable(user: Mapping, entries: Iterable[Entry]) -> list[Network]:
    """The networks this user may work from; empty: no list applies, anywhere will do."""
    entries = list(entries)
    own = [e.network for e in entries if e.user_id is not None and e.user_id == user["id"]]
    if own:
        return own
    return [e.network for e in entries if e.user_id is None and e.role == user["role"]]


def inside(address: str | Address | None, networks: Sequence[Network]) -> bool:
    parsed = parse_address(address)
    return parsed is not None and any(parsed.version == n.version and parsed in n for n in networks)


def allowed(address: str | Address | None, user: Mapping, entries: Iterable[Entry]) -> bool:
    """May this user (a mapping with id and role) work from this address under these entries?"""
    networks = applicable(user, entries)
    return not networks or inside(address, networks)
