"""A private Dovecot (Debian's dovecot-imapd) for the e-mail tests (issue 23): its own configuration,
users (passwd-file), maildirs, runtime and log in one temporary directory, IMAP without TLS on a free
loopback port, started in the foreground (`dovecot -F`) and stopped with everything it started.

Messages are delivered the way a mail server's LDA would put them in the folder, seen from the
poller: by IMAP APPEND (stdlib imaplib)."""

from __future__ import annotations

import argparse
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
MAIL_USER = "mail"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = pbxcrm-test-{port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# The tests run as root; Dovecot runs no mail process as root: the maildirs belong to the system's
# "mail" user.
first_valid_uid = 1
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{root}/mail/%u
default_login_user = dovenull
default_internal_user = dovecot
login_trusted_networks = 127.0.0.0/8
mail_max_userip_connections = 50
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    def __init__(self, users: dict[str, str], root: Path | None = None, port: int | None = None):
        self.users = dict(users)
        self.root = root.resolve() if root else Path(tempfile.mkdtemp(prefix="pbxcrm-dovecot-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def _write_config(self) -> None:
        os.chmod(self.root, 0o755)  # the login processes (dovenull) walk to the runtime directory
        mail_user = pwd.getpwnam(MAIL_USER)
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
            if sub in ("mail", "home"):
                os.chown(self.root / sub, mail_user.pw_uid, mail_user.pw_gid)
        (self.root / "users").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))
        self.config.write_text(CONFIG.format(root=self.root, port=self.port, uid=mail_user.pw_uid,
                                                  gid=mail_user.pw_gid))

    def start(self) -> "Dovecot":
        self._write_config()
        log = open(self.root / "stdout.log", "ab")
        try:
            self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.proc.returncode}: {self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log_text()}")

    def stop(self) -> None:
        """Dovecot and every process it started gone (its own process group)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # Its children (imap, auth, ...) end with the master; any straggler in its group goes now.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(self.proc.pid):
            time.sleep(0.05)
        if _group_alive(self.proc.pid):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None

    def restart(self) -> None:
        """Stopped (every connection dropped) and started again on the same port with the same mail."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        texts = []
        for name in ("dovecot.log", "stdout.log"):
            path = self.root / name
            if path.exists():
                texts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(texts)

    # ---- the test's side: delivering and looking ----

    def imap(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(user, self.users[user])
        return client

    def deliver(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        client = self.imap(user)
        try:
            if folder != "INBOX":
                client.create(folder)
            for raw in messages:
                typ, data = client.append(folder, None, None, raw)
                assert typ == "OK", data
        finally:
            client.logout()

    def flags(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Each message's FLAGS, in UID order."""
        client = self.imap(user)
        try:
            client.select(folder, readonly=True)
            typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
            return [d for d in data if isinstance(d, bytes)]
        finally:
            client.logout()


def _group_alive(pgid: int) -> bool:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


DEMO_MAIL = [
    ("Order for next week", "Hello! Please send us the price list and an invoice for 40 boxes."),
    ("Re: delivery", "The delivery came today, thank you. One box was damaged: photo attached."),
    ("Question about the contract", "Could you call me back about the contract terms?"),
]


def _demo_messages(user: str, senders: list[str]) -> list[bytes]:
    messages = []
    for i, sender in enumerate(senders):
        subject, body = DEMO_MAIL[i % len(DEMO_MAIL)]
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, user, subject
        msg["Message-ID"] = make_msgid(domain="demo.pbxcrm")
        msg.set_content(body)
        if i % len(DEMO_MAIL) == 1:
            msg.add_attachment(b"%PDF-1.4 demo", maintype="application", subtype="pdf", filename="photo.pdf")
        messages.append(bytes(msg))
    messages.append(bytes(_stranger(user)))
    return messages


def _stranger(user: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "New Customer <new.customer@example.org>", user, "Do you deliver to Kazan?"
    msg["Message-ID"] = make_msgid(domain="demo.pbxcrm")
    msg.set_content("Hello, I found you on the web. Do you deliver to Kazan, and how long does it take?")
    return msg


def main() -> None:
    """`make demo`'s IMAP server (scripts/demo.sh): a Dovecot on loopback whose one mailbox `pbxcrm mail`
    reads; the first time, a few messages from the given clients' addresses and one from a stranger. Runs
    until SIGTERM or SIGINT, then stops Dovecot and everything it started."""
    parser = argparse.ArgumentParser(prog="python -m tests.dovecot")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--from", dest="senders", default="", help="comma-separated sender addresses")
    args = parser.parse_args()
    fresh = not (args.dir / "mail").exists()
    server = Dovecot({args.user: args.password}, root=args.dir, port=args.port)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    server.start()
    try:
        print(f"dovecot on 127.0.0.1:{server.port}, mailbox {args.user}", flush=True)
        if fresh:
            server.deliver(args.user, _demo_messages(args.user, [a for a in args.senders.split(",") if a]))
        while not stopping and server.proc is not None and server.proc.poll() is None:
            time.sleep(0.5)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
