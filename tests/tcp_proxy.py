"""A TCP proxy a test controls: to make PostgreSQL stop answering for one process
(`blackhole`), or a link go silent without closing (`freeze`), or a server slow (`delay`)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.parse


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def via(url: str, port: int) -> str:
    """The same URL (a database's, say), reached through a proxy on this loopback port."""
    parts = urllib.parse.urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"))


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self.cut = False
        self.connections = 0  # accepted and forwarded, ever
        self.delay = 0.0  # seconds each chunk from the target waits before it is passed on (a slow server)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._frozen: set[asyncio.StreamWriter] = set()

    async def start(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        self.blackhole()
        if self._server:
            self._server.close()

    def blackhole(self) -> None:
        """From now on: connections are accepted but nothing answers; open ones die."""
        self.cut = True
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()
        self._frozen.clear()

    def restore(self) -> None:
        self.cut = False

    def freeze(self) -> int:
        """The open connections go silent and stay open: what either side sends is lost, nobody is
        told (a dead peer, a NAT entry gone). New connections are forwarded as before. How many froze."""
        self._frozen |= self._writers
        return len(self._writers) // 2

    def drop_frozen(self) -> None:
        """The frozen connections end abruptly at last (a reset), as a dead link's finally do."""
        for w in list(self._frozen):
            w.transport.abort()
            self._writers.discard(w)
        self._frozen.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            # Hold the connection open and say nothing, like a database that hangs.
            self._writers.add(writer)
            with contextlib.suppress(Exception):
                await reader.read()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers.update({writer, up_writer})
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer, answers=True),
                             return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answers: bool = False) -> None:
        try:
            while data := await reader.read(65536):
                if answers and self.delay:
                    await asyncio.sleep(self.delay)
                if self.cut:
                    break
                if writer in self._frozen:
                    continue  # read and dropped: the sender's packets vanish, its socket stays happy
                writer.write(data)
                await writer.drain()
        finally:
            if writer not in self._frozen:  # a frozen link carries no goodbye either
                self._writers.discard(writer)
                writer.close()
