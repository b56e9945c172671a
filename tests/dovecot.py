"""A private Dovecot (Debian's dovecot-imapd) for the e-mail tests (issue 23): its own configuration,
users (passwd-file), maildirs, runtime and log in one temporary directory, IMAP without TLS on a free
loopback port, started in the foreground (`dovecot -F`) and stopped with everything it started.

Messages are delivered the way a mail server's LDA would put them in the folder, seen from the
poller: by IMAP APPEND (stdlib imaplib)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
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
    def __init__(self, users: dict[str, str]):
        self.users = dict(users)
        self.root = Path(tempfile.mkdtemp(prefix="pbxcrm-dovecot-"))
        self.port = free_port()
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
