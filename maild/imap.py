"""One IMAP connection to a mailbox, read-only (EXAMINE, BODY.PEEK: the \\Seen flag is never touched).

imapclient is blocking: every method here runs in a worker thread (asyncio.to_thread), one connection
per mailbox, never shared between threads at once. `abort` may be called from any thread: it ends the
socket under a blocked read, so a stop does not wait for the server."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from typing import Any

from imapclient import IMAPClient

log = logging.getLogger(__name__)

SEARCH_CHUNK = 500  # UIDs whose sizes are asked for in one FETCH
NEWS = (b"EXISTS", b"RECENT", b"EXPUNGE")  # IDLE answers that mean the folder changed ("OK Still here" does not)


class ImapConnection:
    def __init__(self, host: str, port: int, security: str, user: str, password: str, timeout: float = 30.0):
        self.host, self.port, self.security = host, port, security
        self.user, self.password, self.timeout = user, password, timeout
        self.client: IMAPClient | None = None
        self.idling = False

    def open(self) -> None:
        context = ssl.create_default_context()
        client = IMAPClient(self.host, self.port, ssl=self.security == "ssl", ssl_context=context,
                            timeout=self.timeout, use_uid=True)
        self.client = client
        if self.security == "starttls":
            client.starttls(context)
        client.login(self.user, self.password)

    @property
    def _c(self) -> IMAPClient:
        if self.client is None:
            raise ConnectionError("not connected")
        return self.client

    @property
    def has_idle(self) -> bool:
        return bool(self._c.has_capability("IDLE"))

    def select(self, folder: str) -> int:
        """The folder examined (read-only); its UIDVALIDITY."""
        answer = self._c.select_folder(folder, readonly=True)
        self.news()  # what EXAMINE said of the folder is no news: the read that follows sees it
        return int(answer[b"UIDVALIDITY"])

    def news(self) -> bool:
        """Whether the server said the folder changed (EXISTS, RECENT, EXPUNGE) in the answers to our own
        commands since the last call: mail that came while we read (a SEARCH's answer carries its
        "* 2 EXISTS"), which IDLE would never announce again."""
        untagged = self._c._imap.untagged_responses
        return bool([untagged.pop(key) for key in ("EXISTS", "RECENT", "EXPUNGE") if key in untagged])

    def sizes_after(self, last_uid: int) -> list[tuple[int, int]]:
        """(uid, size in bytes) of the messages after `last_uid`, in UID order."""
        uids = sorted(u for u in self._c.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        sizes: list[tuple[int, int]] = []
        for start in range(0, len(uids), SEARCH_CHUNK):
            chunk = uids[start:start + SEARCH_CHUNK]
            answer = self._c.fetch(chunk, ["RFC822.SIZE"])
            sizes += [(uid, int(answer.get(uid, {}).get(b"RFC822.SIZE", 0))) for uid in chunk]
        return sizes

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """The raw messages by UID (one expunged meanwhile is missing)."""
        answer: dict[int, Any] = self._c.fetch(uids, ["BODY.PEEK[]"])
        return {uid: data[b"BODY[]"] for uid, data in answer.items() if b"BODY[]" in data}

    def idle_start(self) -> None:
        self._c.idle()
        self.idling = True

    def idle_check(self, seconds: float) -> bool:
        """Whether the server announced a change (a new message, say) within `seconds`; ConnectionError when
        it closed the connection (imapclient says nothing of that during IDLE)."""
        if self._buffered():
            return True
        responses = self._c.idle_check(timeout=seconds)
        self._check_open()
        return any(len(r) > 1 and r[1] in NEWS for r in responses) or self._buffered()

    def _buffered(self) -> bool:
        """Whether imaplib's buffered reader holds bytes not read yet: a "* 2 EXISTS" that came in the same
        packet as IDLE's "+ idling" is there, and the socket, polled by idle_check, never says so. Said as
        news (the folder is read again: at worst once for nothing)."""
        sock = self._c.socket()
        timeout = sock.gettimeout()
        sock.setblocking(False)
        try:
            return bool(self._c._imap.file.peek(1))
        except (OSError, ValueError):  # nothing to read now (TLS says so with an error), or closed
            return False
        finally:
            sock.settimeout(timeout)

    def _check_open(self) -> None:
        sock = self._c.socket()
        if isinstance(sock, ssl.SSLSocket):
            return  # a TLS socket cannot peek: a closed one shows at the next command (IDLE is renewed)
        timeout = sock.gettimeout()
        sock.setblocking(False)
        try:
            data = sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return  # open, nothing more to read
        except OSError as e:
            raise ConnectionError(f"connection lost during IDLE ({e})") from e
        finally:
            sock.settimeout(timeout)
        if data == b"":
            raise ConnectionError("the server closed the connection during IDLE")

    def idle_done(self) -> None:
        if self.idling:
            self.idling = False
            self._c.idle_done()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if self.idling:
                client.idle_done()
            client.logout()
        with contextlib.suppress(Exception):
            client.shutdown()

    def abort(self) -> None:
        client = self.client
        if client is not None:
            with contextlib.suppress(Exception):
                client.socket().shutdown(socket.SHUT_RDWR)
