"""`pbxcrm doctor`'s checks: one pure function per check, from the facts to one verdict.

Each says in plain words what is wrong and what to do, in the language in force. CHECKS
is the order they print in; TITLES names each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from babel.dates import format_timedelta

from crm.dialing.technology import parts_of
from crm.i18n import N_, _, current_locale, ngettext
from pbxcrm.doctor import requirements
from pbxcrm.doctor.facts import AriOutcome, DbOutcome, Facts, Status, Verdict

# Clocks further apart than this (beyond what one reading can tell) fail the clock check.
MAX_CLOCK_SKEW_SECONDS = 2.0
# The newest CEL row may be this much older than the newest call the CRM logged.
CEL_LAG_SECONDS = 300.0

TITLES = {
    "database": N_("Database"), "ari": N_("ARI"), "modules": N_("Asterisk modules"),
    "dialplan": N_("Dialplan"), "app_name": N_("Stasis app name"), "app_connected": N_("Stasis app"),
    "trunk": N_("Trunk"), "phones": N_("Users' phones"), "cel": N_("CEL"), "recordings": N_("Recordings folder"),
    "clock": N_("Clock"),
}


def _worst(*statuses: Status) -> Status:
    order = (Status.FAIL, Status.WARN, Status.OK, Status.SKIP)
    return min(statuses, key=order.index) if statuses else Status.OK


def _join(parts: list[str]) -> str:
    return "; ".join(parts)


def _ari_down(check: str) -> Verdict:
    return Verdict(check, Status.SKIP, _("not checked: Asterisk's ARI does not answer"))


def _db_down(check: str) -> Verdict:
    return Verdict(check, Status.SKIP, _("not checked: the database does not answer"))


def _age(seconds: float) -> str:
    return format_timedelta(dt.timedelta(seconds=max(seconds, 0)), threshold=1, locale=current_locale())


def check_database(f: Facts) -> Verdict:
    db = f.crm.db
    where = {"where": db.where}
    if db.outcome != DbOutcome.OK:
        text = {
            DbOutcome.REFUSED: _("cannot connect to PostgreSQL at %(where)s: connection refused (is the server "
                                 "running, and DATABASE_URL right?)"),
            DbOutcome.TIMEOUT: _("PostgreSQL at %(where)s did not answer in time"),
            DbOutcome.AUTH: _("PostgreSQL at %(where)s refused the user or password in DATABASE_URL"),
            DbOutcome.NO_DATABASE: _("PostgreSQL at %(where)s has no such database: create it, then run "
                                     "pbxcrm migrate"),
        }.get(db.outcome, _("cannot use PostgreSQL at %(where)s: %(error)s"))
        return Verdict("database", Status.FAIL, text % {**where, "error": db.detail})
    pending = sorted(set(f.crm.known) - f.crm.applied)
    unknown = sorted(f.crm.applied - set(f.crm.known))
    if not f.crm.applied:
        return Verdict("database", Status.FAIL, _("PostgreSQL at %(where)s: the database has no pbxcrm tables yet: "
                                                  "run pbxcrm migrate") % where)
    if pending:
        return Verdict("database", Status.FAIL, ngettext(
            "PostgreSQL at %(where)s: %(count)d migration is not applied (%(versions)s): run pbxcrm migrate",
            "PostgreSQL at %(where)s: %(count)d migrations are not applied (%(versions)s): run pbxcrm migrate",
            len(pending)) % {**where, "count": len(pending), "versions": ", ".join(f"{v:04d}" for v in pending)})
    if unknown:
        return Verdict("database", Status.FAIL, _(
            "PostgreSQL at %(where)s has migrations this pbxcrm does not know (%(versions)s): a newer pbxcrm "
            "migrated it; install that version") % {**where, "versions": ", ".join(f"{v:04d}" for v in unknown)})
    return Verdict("database", Status.OK, _("PostgreSQL at %(where)s; the schema is current (migration %(version)s)")
                   % {**where, "version": f"{max(f.crm.known, default=0):04d}"})


def check_ari(f: Facts) -> Verdict:
    ari = f.asterisk.ari
    values = {"url": ari.url, "version": ari.version, "error": ari.detail}
    texts = {
        AriOutcome.OK: _("Asterisk %(version)s answers at %(url)s; the ARI user and password are right"),
        AriOutcome.REFUSED: _("nothing answers at %(url)s: enable Asterisk's HTTP server "
                              "(http.conf: enabled = yes, bindaddr, bindport) or correct PBXCRM_ARI_URL"),
        AriOutcome.TIMEOUT: _("%(url)s did not answer in time: a firewall, or the wrong address in PBXCRM_ARI_URL?"),
        AriOutcome.UNAUTHORIZED: _("Asterisk at %(url)s refused the ARI user and password (401): make ari.conf's "
                                   "user and password those in PBXCRM_ARI_USER and PBXCRM_ARI_PASSWORD"),
        AriOutcome.NO_ARI: _("the HTTP server at %(url)s has no ARI (404): load res_ari and set enabled = yes "
                             "in ari.conf"),
    }
    text = texts.get(ari.outcome, _("ARI at %(url)s answered: %(error)s")) % values
    if ari.detail and ari.outcome == AriOutcome.REFUSED:
        text += f" ({ari.detail})"
    return Verdict("ari", Status.OK if ari.outcome == AriOutcome.OK else Status.FAIL, text)


def check_modules(f: Facts) -> Verdict:
    loaded = f.asterisk.modules
    if loaded is None:
        return _ari_down("modules")
    needs = requirements.needs(requirements.Uses(cel=f.crm.cel is not None), f.dialplan.applications,
                               f.dialplan.functions)
    missing = [n for n in needs if not any(name in loaded for name in n.names)]

    def said(need: requirements.Need) -> str:
        why = (_("%(used)s in the dialplan") % {"used": need.used}) if need.used else _(need.why)
        return _("%(module)s (%(why)s)") % {"module": "/".join(need.names), "why": why}

    failing = [said(n) for n in missing if n.required]
    wanted = [said(n) for n in missing if not n.required]
    parts = []
    if failing:
        parts.append(_("not loaded: %(modules)s; load them (modules.conf: load => NAME.so) and restart Asterisk")
                     % {"modules": ", ".join(failing)})
    if wanted:
        parts.append(_("not loaded, but useful: %(modules)s") % {"modules": ", ".join(wanted)})
    if parts:
        return Verdict("modules", Status.FAIL if failing else Status.WARN, _join(parts))
    count = len({n.names for n in needs})
    return Verdict("modules", Status.OK, ngettext("the %(count)d module pbxcrm needs is loaded",
                                                  "all %(count)d modules pbxcrm needs are loaded", count)
                   % {"count": count})


def check_dialplan(f: Facts) -> Verdict:
    if not f.dialplan.contexts:
        return Verdict("dialplan", Status.FAIL, _("no dialplan contexts in %(folder)s/*.conf")
                       % {"folder": f.dialplan_dir})
    if f.asterisk.contexts is None:
        return _ari_down("dialplan")
    missing = [name for name, present in f.asterisk.contexts.items() if present is False]
    files = ", ".join(f.dialplan.files)
    if missing and len(missing) == len(f.asterisk.contexts):
        return Verdict("dialplan", Status.FAIL, _(
            "Asterisk has none of our contexts (%(contexts)s): add #include \"%(file)s\" to extensions.conf, "
            "then dialplan reload") % {"contexts": ", ".join(missing), "file": f.dialplan.files[0]})
    if missing:
        return Verdict("dialplan", Status.FAIL, _(
            "Asterisk lacks %(contexts)s of %(files)s: it includes an older copy, or was not reloaded "
            "(dialplan reload)") % {"contexts": ", ".join(missing), "files": files})
    return Verdict("dialplan", Status.OK, _("Asterisk has our contexts: %(contexts)s")
                   % {"contexts": ", ".join(f.asterisk.contexts)})


def check_app_name(f: Facts) -> Verdict:
    names = sorted(f.dialplan.stasis_apps)
    if not names:
        return Verdict("app_name", Status.FAIL, _("the dialplan (%(folder)s) calls Stasis() nowhere: no call "
                                                  "reaches the app") % {"folder": f.dialplan_dir})
    if names != [f.app_name]:
        return Verdict("app_name", Status.FAIL, _(
            "the dialplan's Stasis() calls name %(names)s, but PBXCRM_ARI_APP is %(app)s: calls do not reach "
            "the app; make them the same") % {"names": ", ".join(names), "app": f.app_name})
    return Verdict("app_name", Status.OK, _("the dialplan's Stasis() calls and PBXCRM_ARI_APP name the same "
                                            "app, %(app)s") % {"app": f.app_name})


def check_app_connected(f: Facts) -> Verdict:
    apps = f.asterisk.apps
    if apps is None:
        return _ari_down("app_connected")
    if f.app_name in apps:
        return Verdict("app_connected", Status.OK, _("Stasis app %(app)s is known to Asterisk: pbxcrm ari is "
                                                     "running") % {"app": f.app_name})
    return Verdict("app_connected", Status.WARN, _(
        "no Stasis app %(app)s is connected: pbxcrm ari is not running, and calls take the dialplan's fallback "
        "(the default queue's phones)") % {"app": f.app_name})


def target_of(dial: str) -> tuple[str, str] | None:
    """What Asterisk is asked about for a dial string: ("endpoint", "PJSIP/101"), ("endpoint",
    "PJSIP/trunk") for a number dialled through a trunk, ("local", "101@phones") for a Local
    channel (its extension must exist), None for a string that is not one."""
    parts = parts_of(dial)
    if parts is None:
        return None
    technology, resource, at = parts
    if technology.lower() == "local":
        return ("local", f"{resource}@{at}")
    return ("endpoint", f"{technology}/{at or resource}")


def _exists(f: Facts, target: tuple[str, str] | None) -> bool:
    if target is None:
        return False
    kind, name = target
    if kind == "local":
        return f.asterisk.local_targets.get(name, False)
    endpoint = f.asterisk.endpoints.get(name)
    return endpoint is not None and endpoint.state is not None


def _user_of_trunk(kind: str, name: str) -> str:
    return (_("dial rule %(name)s") if kind == "rule" else _("line %(name)s")) % {"name": name}


def check_trunk(f: Facts) -> Verdict:
    if f.asterisk.ari.outcome != AriOutcome.OK:
        return _ari_down("trunk")
    trunk = f.asterisk.endpoints.get(f"PJSIP/{f.trunk}")
    parts, statuses = [], []
    if trunk is None or trunk.state is None:
        statuses.append(Status.FAIL)
        parts.append(_("Asterisk has no endpoint PJSIP/%(trunk)s (PBXCRM_TRUNK): define the trunk in pjsip.conf, "
                       "or set PBXCRM_TRUNK to its name") % {"trunk": f.trunk})
    else:
        statuses.append(Status.OK)
        context = f.asterisk.trunk_context
        parts.append((_("PJSIP/%(trunk)s exists (%(state)s); its calls enter context %(context)s") if context else
                      _("PJSIP/%(trunk)s exists (%(state)s)")) % {"trunk": f.trunk, "state": trunk.state,
                                                                  "context": context})
    for other, users in sorted(f.crm.trunk_users.items()):
        if other != f.trunk and not _exists(f, ("endpoint", f"PJSIP/{other}")):
            statuses.append(Status.FAIL)
            parts.append(_("trunk %(trunk)s, used by %(users)s, is not an endpoint in Asterisk")
                         % {"trunk": other, "users": ", ".join(_user_of_trunk(kind, name) for kind, name in users)})
    if f.asterisk.trunk_global != f.trunk:
        statuses.append(Status.WARN)
        parts.append((_("the dialplan's global PBXCRM_TRUNK is %(value)s, not %(trunk)s: without the app, calls "
                        "out leave through another trunk (extensions.conf, [globals])")
                      if f.asterisk.trunk_global else
                      _("the dialplan's global PBXCRM_TRUNK is not set: without the app, calls out cannot leave "
                        "(extensions.conf, [globals]: PBXCRM_TRUNK=%(trunk)s)"))
                     % {"value": f.asterisk.trunk_global, "trunk": f.trunk})
    return Verdict("trunk", _worst(*statuses), _join(parts))


def check_phones(f: Facts) -> Verdict:
    if f.crm.db.outcome != DbOutcome.OK:
        return _db_down("phones")
    if f.asterisk.ari.outcome != AriOutcome.OK:
        return _ari_down("phones")
    if f.crm.phones is None:
        return Verdict("phones", Status.SKIP, _("not checked: the database's schema is not current"))
    if not f.crm.phones:
        return Verdict("phones", Status.OK, _("no user has an extension yet"))
    missing, offline = [], []
    for phone in f.crm.phones:
        said = _("%(login)s (%(extension)s, %(dial)s)") % {"login": phone.login, "extension": phone.extension,
                                                          "dial": phone.dial}
        target = target_of(phone.dial)
        if not _exists(f, target):
            missing.append(said)
        elif target and target[0] == "endpoint" and f.asterisk.endpoints[target[1]].state == "offline":
            offline.append(said)
    parts = []
    if missing:
        parts.append(_("Asterisk cannot ring the phones of %(users)s: no such endpoint or extension (pjsip.conf, "
                       "or the user's dial string)") % {"users": ", ".join(missing)})
    if offline:
        parts.append(_("offline now: %(users)s (not registered, or not answering)") % {"users": ", ".join(offline)})
    if parts:
        return Verdict("phones", Status.FAIL if missing else Status.WARN, _join(parts))
    count = len({phone.login for phone in f.crm.phones})  # a user's desk and browser phones are one user's
    return Verdict("phones", Status.OK, ngettext("the phone of the %(count)d user with an extension exists",
                                                 "the phones of all %(count)d users with an extension exist", count)
                   % {"count": count})


def check_cel(f: Facts) -> Verdict:
    if f.crm.db.outcome != DbOutcome.OK:
        return _db_down("cel")
    cel = f.crm.cel
    if cel is None:
        return Verdict("cel", Status.SKIP, _("not configured: the CRM's database has no CEL table"))
    values = {"table": cel.table}
    modules = f.asterisk.modules
    if modules is not None and not modules & {"cel_pgsql", "cel_odbc"}:
        return Verdict("cel", Status.FAIL, _("Asterisk loads neither cel_pgsql nor cel_odbc: nothing writes "
                                             "into %(table)s") % values)
    if cel.newest_event is None:
        if cel.newest_call is None:
            return Verdict("cel", Status.WARN, _("no CEL rows in %(table)s yet, and no calls logged: place a test "
                                                 "call and run pbxcrm doctor again") % values)
        return Verdict("cel", Status.FAIL, _("no CEL rows in %(table)s, but calls are logged: check cel.conf "
                                             "(enable = yes) and cel_pgsql.conf (database, table)") % values)
    values["age"] = _age(cel.now - cel.newest_event)
    if cel.newest_call is not None and cel.newest_call - cel.newest_event > CEL_LAG_SECONDS:
        values["call_age"] = _age(cel.now - cel.newest_call)
        return Verdict("cel", Status.FAIL, _("CEL rows stopped arriving in %(table)s: the newest is %(age)s old, "
                                             "the newest logged call %(call_age)s") % values)
    return Verdict("cel", Status.OK, _("CEL rows arrive in %(table)s (the newest is %(age)s old)") % values)


def check_recordings(f: Facts) -> Verdict:
    r = f.recordings
    values = {"path": str(r.path), "user": r.user, "error": r.detail}
    if not r.writable:
        text = {
            "not_folder": _("%(path)s is not a folder"),
            "cannot_create": _("%(path)s does not exist, and %(user)s cannot create it in %(error)s"),
        }.get(r.problem, _("%(path)s is not writable by %(user)s (%(error)s)"))
        return Verdict("recordings", Status.FAIL, text % values + ": " + _(
            "recordings cannot be kept; give the folder to the user pbxcrm runs as"))
    text = (_("%(path)s is writable by %(user)s") if r.exists else
            _("%(path)s does not exist yet; %(user)s can create it")) % values
    if not r.absolute:
        return Verdict("recordings", Status.WARN, text + "; " + _(
            "PBXCRM_RECORDINGS_DIR is relative: where it lands depends on the folder pbxcrm starts in; make it "
            "absolute"))
    return Verdict("recordings", Status.OK, text)


def check_clock(f: Facts) -> Verdict:
    if f.asterisk.ari.outcome != AriOutcome.OK:
        return _ari_down("clock")
    reading = f.asterisk.clock
    if reading is None:
        return Verdict("clock", Status.SKIP, _("not checked: Asterisk did not tell its time (EPOCH)"))
    # EPOCH is whole seconds: Asterisk's time lies in [epoch, epoch + 1) somewhere between the two readings.
    skew = reading.asterisk_epoch + 0.5 - (reading.host_before + reading.host_after) / 2
    doubt = 0.5 + (reading.host_after - reading.host_before) / 2
    if abs(skew) - doubt > MAX_CLOCK_SKEW_SECONDS:
        values = {"seconds": round(abs(skew))}
        return Verdict("clock", Status.FAIL, (
            _("Asterisk's clock is %(seconds)d s ahead of this host's: call times will disagree; keep both in time "
              "with NTP (chrony or systemd-timesyncd)") if skew > 0 else
            _("Asterisk's clock is %(seconds)d s behind this host's: call times will disagree; keep both in time "
              "with NTP (chrony or systemd-timesyncd)")) % values)
    return Verdict("clock", Status.OK, _("Asterisk's clock and this host's agree (within %(seconds)d s)")
                   % {"seconds": max(1, round(abs(skew) + doubt))})


CHECKS: tuple[Callable[[Facts], Verdict], ...] = (
    check_database, check_ari, check_modules, check_dialplan, check_app_name, check_app_connected, check_trunk,
    check_phones, check_cel, check_recordings, check_clock)


def verdicts(f: Facts) -> list[Verdict]:
    return [check(f) for check in CHECKS]
