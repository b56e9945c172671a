"""What `pbxcrm doctor` found out (gathered by pbxcrm/doctor/gather.py) and what it concludes.

Facts are plain values, so each check (pbxcrm/doctor/checks.py) is a pure function of them;
a fact that could not be gathered (Asterisk or the database did not answer) is None and the
checks that need it say they were skipped, and why.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from pbxcrm.doctor.dialplan import Dialplan


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but something will bite: the exit code stays 0
    FAIL = "fail"  # broken: the exit code is 1
    SKIP = "skip"  # not checked: not configured, or what it needs did not answer


@dataclass(frozen=True)
class Verdict:
    check: str  # a code: database, ari, modules, ...
    status: Status
    text: str  # one line, in the language in force


# ---- Asterisk, through ARI ----

class AriOutcome(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"  # nothing listens at the address (or the name does not resolve)
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"  # 401: ari.conf's user or password differ from ours
    NO_ARI = "no_ari"  # the HTTP server answers 404 under /ari: res_ari not loaded or ari.conf disabled
    ERROR = "error"  # any other answer


@dataclass(frozen=True)
class AriProbe:
    url: str
    outcome: AriOutcome
    version: str = ""
    detail: str = ""  # the error's words, for the admin


@dataclass(frozen=True)
class Endpoint:
    """A channel endpoint as ARI tells it (GET /endpoints/{tech}/{resource}); state None: it does not exist."""

    technology: str
    resource: str
    state: str | None  # online, offline, unknown

    @property
    def name(self) -> str:
        return f"{self.technology}/{self.resource}"


@dataclass(frozen=True)
class ClockReading:
    """Asterisk's EPOCH (whole seconds) read between two readings of this host's clock."""

    asterisk_epoch: int
    host_before: float
    host_after: float


@dataclass
class AsteriskFacts:
    ari: AriProbe
    modules: frozenset[str] | None = None  # running modules, names without .so
    contexts: dict[str, bool | None] | None = None  # our context -> Asterisk has it (None: no extension to ask with)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # "PJSIP/101" -> endpoint
    local_targets: dict[str, bool] = field(default_factory=dict)  # "101@phones" -> the extension exists
    trunk_global: str | None = None  # the dialplan's global PBXCRM_TRUNK
    trunk_context: str | None = None  # the trunk endpoint's context (PJSIP only)
    apps: frozenset[str] | None = None  # Stasis apps Asterisk knows (GET /applications)
    clock: ClockReading | None = None


# ---- the CRM, from its database and settings ----

class DbOutcome(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    AUTH = "auth"  # wrong user or password
    NO_DATABASE = "no_database"
    ERROR = "error"


@dataclass(frozen=True)
class DbProbe:
    where: str  # host:port/database, no password
    outcome: DbOutcome
    detail: str = ""


@dataclass(frozen=True)
class UserPhone:
    login: str
    extension: str
    dial: str  # where the phone is rung: the user's dial string or PJSIP/<extension>


@dataclass(frozen=True)
class CelFacts:
    table: str
    newest_event: float | None  # epoch seconds of the newest CEL row, None: none
    newest_call: float | None  # epoch seconds of the newest call the CRM logged
    now: float


@dataclass
class CrmFacts:
    db: DbProbe
    applied: frozenset[int] = frozenset()  # migrations recorded in the database
    known: tuple[int, ...] = ()  # migrations this code has
    phones: list[UserPhone] | None = field(default_factory=list)  # None: the schema could not be read
    # trunk -> what names it: ("rule", pattern) for a dial rule, ("line", name) for a line
    trunk_users: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    cel: CelFacts | None = None  # None: no CEL table
    language: str | None = None  # the call centre's


@dataclass(frozen=True)
class RecordingsFolder:
    path: Path  # as configured
    absolute: bool
    exists: bool
    writable: bool  # a file could be written there (or the folder created, when missing)
    user: str  # who the doctor ran as: the check is only as good as that
    problem: str = ""  # not_folder, not_writable, cannot_create
    detail: str = ""  # the system's error, or the folder it cannot be created in


@dataclass
class Facts:
    app_name: str  # PBXCRM_ARI_APP
    trunk: str  # PBXCRM_TRUNK
    dialplan: Dialplan
    dialplan_dir: Path
    asterisk: AsteriskFacts
    crm: CrmFacts
    recordings: RecordingsFolder
