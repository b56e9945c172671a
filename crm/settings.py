"""Settings, read once from the environment into one object that is passed down."""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crm.defaults import DEFAULT_REGION, DEFAULT_TIMEZONE
from crm.nodes import NAME_PATTERN

if TYPE_CHECKING:
    from crm.clock import Clock


TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


# A PBX node's name (issue 26), as pbx_nodes.name checks it (migration 0053).
NODE_NAME = re.compile(f"^{NAME_PATTERN}$")


class SettingsError(ValueError):
    """A setting is missing or malformed."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _networks(env: dict[str, str], name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for part in env.get(name, "").replace(" ", ",").split(","):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(f"{name} must list addresses or CIDR networks (10.0.0.0/8, ::1), "
                                f"got {part!r}") from None
    return tuple(networks)


@dataclass(frozen=True)
class Settings:
    database_url: str
    default_region: str = DEFAULT_REGION
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "pbxcrm"
    ari_password: str = "pbxcrm-sandbox"
    ari_app: str = "pbxcrm"
    # More than one PBX (issue 26): this `pbxcrm ari`'s node, one per Asterisk behind the SIP proxy
    # (ari_app/cluster/). Empty: one PBX, nothing shared with another node.
    node: str = ""
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # How long the call path may wait on the CRM before it routes to the default queue.
    lookup_budget_ms: int = 300
    recordings_dir: Path = field(default_factory=lambda: Path("var/recordings"))
    # Retention (issue 25): where old recordings and call rows go when the admin chose "archive". Set here, not in
    # the browser: an admin's form must not choose where the server writes.
    archive_dir: Path = field(default_factory=lambda: Path("var/archive"))
    # Greetings (issue 15): where the web UI writes the uploaded greetings, converted for Asterisk,
    # and the same directory as Asterisk sees it ("" : the same path), which the Stasis app plays
    # them from. A chrooted or remote Asterisk sees it under another path: its sounds dir, say.
    greetings_dir: Path = field(default_factory=lambda: Path("var/greetings"))
    greetings_asterisk_dir: str = ""
    session_hours: int = 12
    cookie_secure: bool = False
    # The PJSIP endpoint outbound calls leave through.
    trunk: str = "trunk"
    # The call centre's own clock: "today" for callbacks, times shown to users.
    timezone: str = DEFAULT_TIMEZONE
    clock_offset_seconds: int = 0
    # Notifications: e-mail through this SMTP server (off when no host), links to this address.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "pbxcrm@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    public_url: str = "http://127.0.0.1:8000"
    notify_interval_seconds: float = 15.0
    # E-mail written on the card (issue 23), sent by the web workers' mail sender through the smtp_* server:
    # the wait after a failed attempt (x4 each time, at most an hour) and the attempts before it is failed.
    mail_retry_base_seconds: int = 15
    mail_max_attempts: int = 5
    # The longest SMS a user sends from a card, in parts (issue 21): a longer text is refused.
    sms_max_parts: int = 10
    # Call records from Asterisk's CEL (crm/cel/): the database and table cel_pgsql writes
    # (empty URL: DATABASE_URL's; empty table: off), the zone of its times without one, and how
    # often `pbxcrm ari` reads it.
    cel_database_url: str = ""
    cel_table: str = "cel"
    cel_timezone: str = "UTC"
    cel_interval_seconds: float = 2.0
    # Reverse proxies whose X-Forwarded-For is believed (CIDRs): the client's address is the first one,
    # from the right, that is not one of them. Empty: the TCP peer is the client, the header is ignored.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # The browser phone (issue 19): Asterisk's secure websocket the page registers through, and the
    # secret its endpoints' passwords derive from (scripts/webrtc-endpoints.py must use the same).
    webrtc_url: str = "wss://127.0.0.1:8089/ws"
    webrtc_secret: str = "pbxcrm-sandbox-webrtc"
    # The SMS sender (`pbxcrm sms`, issue 21): how long a claimed message is held before another worker
    # may take it over (longer than a submit can take), the retry backoff (doubling from the base up to
    # the cap, at most so many tries, then failed), and how often the gateways' rows are read again.
    sms_lease_seconds: int = 60
    sms_retry_base_seconds: int = 5
    sms_retry_max_seconds: int = 600
    sms_max_attempts: int = 8
    sms_reload_seconds: int = 30
    # The e-mail poller (`pbxcrm mail`, issue 23): an attachment bigger than this is listed (name, size)
    # but not kept; a folder is read again this often (and IDLE renewed) besides what IDLE announces,
    # and every time where the server has no IDLE.
    mail_max_attachment_bytes: int = 20 * 1024 * 1024
    mail_poll_seconds: int = 60

    @property
    def greetings_sound_dir(self) -> str:
        """The greetings directory as Asterisk names it: the media path the app plays greetings by."""
        return self.greetings_asterisk_dir or str(self.greetings_dir.resolve())

    @property
    def clock(self) -> Clock:
        from crm.clock import Clock

        return Clock(self.timezone, self.clock_offset_seconds)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        url = env.get("DATABASE_URL", "")
        if not url:
            raise SettingsError(
                "DATABASE_URL is not set (make demo / make test start a private PostgreSQL and set it)"
            )
        region = env.get("PBXCRM_DEFAULT_REGION", DEFAULT_REGION).upper()
        if len(region) != 2 or not region.isalpha():
            raise SettingsError(f"PBXCRM_DEFAULT_REGION must be a two-letter region code, got {region!r}")
        timezone = env.get("PBXCRM_TIMEZONE", cls.timezone)
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"PBXCRM_TIMEZONE is not a time zone: {timezone!r}") from None
        cel_table = env.get("PBXCRM_CEL_TABLE", cls.cel_table).strip()
        if cel_table and not TABLE_NAME.match(cel_table):
            raise SettingsError(f"PBXCRM_CEL_TABLE must be a table name (cel, asterisk.cel), got {cel_table!r}")
        cel_timezone = env.get("PBXCRM_CEL_TIMEZONE", cls.cel_timezone)
        try:
            zoneinfo.ZoneInfo(cel_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"PBXCRM_CEL_TIMEZONE is not a time zone: {cel_timezone!r}") from None
        node = env.get("PBXCRM_NODE", "").strip().lower()
        if node and not NODE_NAME.match(node):
            raise SettingsError(f"PBXCRM_NODE must be a short name of a-z, 0-9 and '-' (a, node-2), got {node!r}")
        return cls(
            trusted_proxies=_networks(env, "PBXCRM_TRUSTED_PROXIES"),
            sms_lease_seconds=max(1, _int(env, "PBXCRM_SMS_LEASE_SECONDS", cls.sms_lease_seconds)),
            sms_retry_base_seconds=max(1, _int(env, "PBXCRM_SMS_RETRY_BASE_SECONDS", cls.sms_retry_base_seconds)),
            sms_retry_max_seconds=max(1, _int(env, "PBXCRM_SMS_RETRY_MAX_SECONDS", cls.sms_retry_max_seconds)),
            sms_max_attempts=max(1, _int(env, "PBXCRM_SMS_MAX_ATTEMPTS", cls.sms_max_attempts)),
            sms_reload_seconds=max(1, _int(env, "PBXCRM_SMS_RELOAD_SECONDS", cls.sms_reload_seconds)),
            mail_max_attachment_bytes=max(1, _int(env, "PBXCRM_MAIL_MAX_ATTACHMENT_BYTES",
                                                  cls.mail_max_attachment_bytes)),
            mail_poll_seconds=max(1, _int(env, "PBXCRM_MAIL_POLL_SECONDS", cls.mail_poll_seconds)),
            webrtc_url=env.get("PBXCRM_WEBRTC_URL", cls.webrtc_url),
            webrtc_secret=env.get("PBXCRM_WEBRTC_SECRET", cls.webrtc_secret),
            cel_database_url=env.get("PBXCRM_CEL_DATABASE_URL", ""),
            cel_table=cel_table,
            cel_timezone=cel_timezone,
            cel_interval_seconds=_int(env, "PBXCRM_CEL_INTERVAL_SECONDS", 2),
            timezone=timezone,
            trunk=env.get("PBXCRM_TRUNK", cls.trunk),
            clock_offset_seconds=_int(env, "PBXCRM_CLOCK_OFFSET_SECONDS", 0),
            smtp_host=env.get("PBXCRM_SMTP_HOST", ""),
            smtp_port=_int(env, "PBXCRM_SMTP_PORT", 25),
            smtp_from=env.get("PBXCRM_SMTP_FROM", cls.smtp_from),
            smtp_user=env.get("PBXCRM_SMTP_USER", ""),
            smtp_password=env.get("PBXCRM_SMTP_PASSWORD", ""),
            smtp_starttls=env.get("PBXCRM_SMTP_STARTTLS", "") in ("1", "true", "yes"),
            public_url=env.get("PBXCRM_PUBLIC_URL", cls.public_url).rstrip("/"),
            sms_max_parts=max(1, _int(env, "PBXCRM_SMS_MAX_PARTS", cls.sms_max_parts)),
            notify_interval_seconds=_int(env, "PBXCRM_NOTIFY_INTERVAL_SECONDS", 15),
            mail_retry_base_seconds=max(1, _int(env, "PBXCRM_MAIL_RETRY_BASE_SECONDS", cls.mail_retry_base_seconds)),
            mail_max_attempts=max(1, _int(env, "PBXCRM_MAIL_MAX_ATTEMPTS", cls.mail_max_attempts)),
            database_url=url,
            default_region=region,
            ari_url=env.get("PBXCRM_ARI_URL", cls.ari_url).rstrip("/"),
            ari_user=env.get("PBXCRM_ARI_USER", cls.ari_user),
            ari_password=env.get("PBXCRM_ARI_PASSWORD", cls.ari_password),
            ari_app=env.get("PBXCRM_ARI_APP", cls.ari_app),
            node=node,
            web_host=env.get("PBXCRM_WEB_HOST", cls.web_host),
            web_port=_int(env, "PBXCRM_WEB_PORT", cls.web_port),
            lookup_budget_ms=_int(env, "PBXCRM_LOOKUP_BUDGET_MS", cls.lookup_budget_ms),
            recordings_dir=Path(env.get("PBXCRM_RECORDINGS_DIR", "var/recordings")),
            archive_dir=Path(env.get("PBXCRM_ARCHIVE_DIR") or "var/archive"),
            greetings_dir=Path(env.get("PBXCRM_GREETINGS_DIR") or "var/greetings"),
            greetings_asterisk_dir=env.get("PBXCRM_GREETINGS_ASTERISK_DIR", "").rstrip("/"),
            session_hours=_int(env, "PBXCRM_SESSION_HOURS", cls.session_hours),
            cookie_secure=env.get("PBXCRM_COOKIE_SECURE", "") in ("1", "true", "yes"),
        )
