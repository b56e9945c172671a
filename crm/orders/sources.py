"""Where an order's call list comes from (issue 22, H9): an uploaded file or a URL, read as a table.

A URL is read over http or https only, at most MAX_BYTES, within TIMEOUT seconds, following at most
MAX_REDIRECTS redirects, each checked again. It may not reach loopback, private, link-local or otherwise
special addresses (a URL typed into the CRM must not read the PBX's own services) unless the admin
allowed them (crm/orders/customers.private_urls_allowed); the check is made on every address the name
resolves to, at connection time, so a name cannot change its answer between the check and the connection.
A body is CSV (UTF-8 or Windows-1251, comma, semicolon or tab) or an .xlsx workbook.
"""

from __future__ import annotations

import asyncio
import csv
import io
import ipaddress
import socket
import tempfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.resolver import ThreadedResolver

from crm.i18n import _
from crm.imports.reader import MAX_ROWS, RefusedFile, read_rows

MAX_BYTES = 20 * 1024 * 1024
TIMEOUT = 30.0
MAX_REDIRECTS = 3
Table = tuple[list[str], list[tuple[int, list]]]


class SourceError(ValueError):
    """The list could not be read; the message says why (shown on the order's page)."""


def check_url(url: str) -> str:
    """The URL, stripped, if it may be stored: http(s), a host, no credentials. '' stays '' (no URL)."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SourceError(_("this is not a URL")) from None
    if parts.scheme not in ("http", "https"):
        raise SourceError(_("only http:// and https:// addresses are read"))
    if not parts.hostname:
        raise SourceError(_("the address has no host"))
    if parts.username or parts.password:
        raise SourceError(_("the address may not carry a login and password"))
    if len(url) > 2000 or any(ord(c) < 33 for c in url):
        raise SourceError(_("this is not a URL"))
    return url


def address_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    if allow_private:
        return True
    return ip.is_global and not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved)


class _GuardedResolver(ThreadedResolver):
    """Resolves as usual, then keeps only the addresses the CRM may connect to."""

    def __init__(self, allow_private: bool):
        super().__init__()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        hosts = [h for h in await super().resolve(host, port, family)
                 if address_allowed(h["host"], self._allow_private)]
        if not hosts:
            raise OSError(f"{host}: a local or private address, refused")
        return hosts


def _literal_refused(url: str, allow_private: bool) -> bool:
    """An address written as an IP is not resolved, so it is checked here."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return not address_allowed(host, allow_private)


async def fetch(url: str, *, allow_private: bool, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES) -> bytes:
    """The body at the URL; SourceError says why not."""
    url = check_url(url)
    connector = aiohttp.TCPConnector(resolver=_GuardedResolver(allow_private), use_dns_cache=False)
    try:
        async with aiohttp.ClientSession(connector=connector, trust_env=False,
                                         timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            for _hop in range(MAX_REDIRECTS + 1):
                if _literal_refused(url, allow_private):
                    raise SourceError(_("the address is on a local or private network; refused"))
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        url = check_url(urljoin(url, response.headers["Location"]))
                        continue
                    if response.status != 200:
                        raise SourceError(_("the server answered %(status)d") % {"status": response.status})
                    if (response.content_length or 0) > max_bytes:
                        raise SourceError(_("the file is larger than %(mb)d MB") % {"mb": max_bytes // 2**20})
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(65536):
                        body += chunk
                        if len(body) > max_bytes:
                            raise SourceError(_("the file is larger than %(mb)d MB") % {"mb": max_bytes // 2**20})
                    return bytes(body)
            raise SourceError(_("too many redirects"))
    except asyncio.TimeoutError:
        raise SourceError(_("the server did not answer within %(seconds)s seconds")
                          % {"seconds": f"{timeout:g}"}) from None
    except aiohttp.ClientConnectorError as e:
        if "local or private" in str(e.os_error):
            raise SourceError(_("the address is on a local or private network; refused")) from None
        raise SourceError(_("cannot connect to %(host)s") % {"host": urlsplit(url).hostname}) from None
    except (aiohttp.ClientError, OSError) as e:
        raise SourceError(_("the download failed (%(error)s)") % {"error": type(e).__name__}) from None


def _decode(body: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError(_("the text is neither UTF-8 nor Windows-1251"))


def read_csv(body: bytes) -> Table:
    text = _decode(body)
    if "\x00" in text:
        raise SourceError(_("this is neither a CSV text nor an .xlsx workbook"))
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    if not first.strip() or first.count(delimiter) == 0 and len(first) > 200:
        raise SourceError(_("this is neither a CSV text nor an .xlsx workbook"))
    try:
        lines = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as e:
        raise SourceError(_("the CSV cannot be read (%(error)s)") % {"error": str(e)}) from None
    header = [h.strip() for h in lines[0]]
    rows = [(n, list(values)) for n, values in enumerate(lines[1:], start=2) if any(v.strip() for v in values)]
    if len(rows) > MAX_ROWS:
        raise SourceError(_("more than %(num)d rows; split the file") % {"num": MAX_ROWS})
    return header, rows


def read_xlsx(body: bytes) -> Table:
    with tempfile.NamedTemporaryFile(prefix="pbxcrm-order-", suffix=".xlsx", delete=False) as handle:
        handle.write(body)
    path = Path(handle.name)
    try:
        return read_rows(path)
    except RefusedFile as e:
        raise SourceError(str(e)) from None
    finally:
        path.unlink(missing_ok=True)


def read_table(body: bytes) -> Table:
    """A workbook (a zip) or a CSV text, as (header, [(row number, values)])."""
    if not body.strip():
        raise SourceError(_("the file is empty"))
    if body[:2] == b"PK":
        return read_xlsx(body)
    if body.lstrip()[:1] == b"<":
        raise SourceError(_("this is a web page, not a CSV text or an .xlsx workbook"))
    return read_csv(body)
