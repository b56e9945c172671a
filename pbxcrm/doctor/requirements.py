"""The Asterisk modules pbxcrm needs, in one place.

MODULES are what the Stasis app and the call path need whatever the dialplan says; the
dialplan's own needs come from the applications and functions dialplan/*.conf uses,
through APPLICATIONS and FUNCTIONS (tests/test_doctor.py fails when the dialplan uses
one that is named in neither, nor in CORE_APPLICATIONS). To require a new module, add
a line here; `when` makes it conditional on what the CRM uses (e.g. CEL once its table
exists), `required=False` makes its absence a warning instead of a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crm.i18n import N_


@dataclass(frozen=True)
class Uses:
    """What this installation uses, as far as the modules it needs depend on it."""

    cel: bool = False  # a CEL table in the CRM's database: Asterisk must write into it


@dataclass(frozen=True)
class Module:
    names: tuple[str, ...]  # loaded modules' names without .so; any one of them is enough
    why: str  # N_ text: what pbxcrm loses without it
    required: bool = True  # False: missing is a warning
    when: Callable[[Uses], bool] | None = None


_ARI = N_("ARI, the Stasis app's link to Asterisk")
_STASIS = N_("Stasis, the call path")

MODULES: tuple[Module, ...] = (
    Module(("res_http_websocket",), N_("ARI's event websocket")),
    *(Module((name,), _ARI) for name in (
        "res_ari", "res_ari_model", "res_ari_applications", "res_ari_asterisk", "res_ari_bridges", "res_ari_channels",
        "res_ari_device_states", "res_ari_endpoints", "res_ari_events", "res_ari_playbacks", "res_ari_recordings")),
    *(Module((name,), _STASIS) for name in (
        "res_stasis", "res_stasis_answer", "res_stasis_playback", "res_stasis_recording", "res_stasis_device_state")),
    Module(("res_pjsip",), N_("PJSIP, the trunk and the phones")),
    Module(("chan_pjsip",), N_("PJSIP, the trunk and the phones")),
    Module(("bridge_simple",), N_("connecting a caller to a phone")),
    Module(("bridge_softmix",), N_("recorded calls (three parties in a bridge)")),
    Module(("chan_bridge_media",), N_("recording calls")),
    Module(("format_wav",), N_("recording calls")),
    Module(("res_musiconhold",), N_("music for callers who wait")),
    Module(("res_pjsip_refer",), N_("phones transferring calls, SIP REFER"), required=False),
    Module(("cel_pgsql", "cel_odbc"), N_("writing CEL events into the CEL table"), when=lambda uses: uses.cel),
)

# Dialplan applications and functions: the module that provides each.
APPLICATIONS: dict[str, str] = {
    "Stasis": "app_stasis", "Dial": "app_dial", "Queue": "app_queue", "AGI": "res_agi", "EAGI": "res_agi",
    "ExecIf": "app_exec", "Exec": "app_exec", "TryExec": "app_exec", "Playback": "app_playback",
    "MixMonitor": "app_mixmonitor", "Verbose": "app_verbose", "Log": "app_verbose", "Echo": "app_echo",
    "Gosub": "app_stack", "GosubIf": "app_stack", "Return": "app_stack", "Read": "app_read",
    "VoiceMail": "app_voicemail", "VoiceMailMain": "app_voicemail", "Record": "app_record",
    "Transfer": "app_transfer", "System": "app_system", "Macro": "app_macro", "AMD": "app_amd",
}
# Built into Asterisk's core (main/pbx_builtins.c and friends): always there.
CORE_APPLICATIONS = frozenset({
    "Answer", "BackGround", "Background", "Busy", "Congestion", "ExecIfTime", "Goto", "GotoIf", "GotoIfTime",
    "Hangup", "ImportVar", "Incomplete", "MSet", "NoOp", "Proceeding", "Progress", "RaiseException", "Ringing",
    "SayAlpha", "SayDigits", "SayNumber", "Set", "SetAMAFlags", "Wait", "WaitDigit", "WaitExten",
})
FUNCTIONS: dict[str, str] = {
    "CALLERID": "func_callerid", "CONNECTEDLINE": "func_callerid", "REDIRECTING": "func_callerid",
    "CHANNEL": "func_channel", "GLOBAL": "func_global", "SHARED": "func_global",
    "IF": "func_logic", "IFTIME": "func_logic", "EXISTS": "func_logic", "ISNULL": "func_logic", "SET": "func_logic",
    "LEN": "func_strings", "FILTER": "func_strings", "REGEX": "func_strings", "STRFTIME": "func_strings",
    "REPLACE": "func_strings", "TOUPPER": "func_strings", "TOLOWER": "func_strings",
    "DEVICE_STATE": "func_devstate", "EXTENSION_STATE": "func_devstate", "HINT": "func_devstate",
    "CUT": "func_cut", "HANGUPCAUSE": "func_hangupcause", "HANGUPCAUSE_KEYS": "func_hangupcause",
    "DB": "func_db", "DB_EXISTS": "func_db", "DB_DELETE": "func_db", "PJSIP_HEADER": "res_pjsip_header_funcs",
    "PJSIP_ENDPOINT": "res_pjsip", "PJSIP_DIAL_CONTACTS": "res_pjsip", "QUEUE_MEMBER": "app_queue",
    "MATH": "func_math", "RAND": "func_rand", "SHELL": "func_shell", "CURL": "func_curl",
}
@dataclass(frozen=True)
class Need:
    """One module the doctor asks for: its names (any one will do), why, and whether missing fails."""

    names: tuple[str, ...]
    why: str  # translated when shown: an N_ text, or "%(name)s()" text with `used`
    used: str = ""  # the dialplan application or function that needs it: Dial, DEVICE_STATE
    required: bool = True


def needs(uses: Uses, applications: set[str], functions: set[str]) -> list[Need]:
    """Every module to ask for: MODULES that apply, then one per dialplan application and function."""
    out = [Need(m.names, m.why, required=m.required) for m in MODULES if m.when is None or m.when(uses)]
    for app in sorted(applications):
        module = APPLICATIONS.get(app)
        if module:
            out.append(Need((module,), "", used=f"{app}()"))
    for function in sorted(functions):
        module = FUNCTIONS.get(function)
        if module:
            out.append(Need((module,), "", used=f"${{{function}()}}"))
    return out


def unknown(applications: set[str], functions: set[str]) -> list[str]:
    """Dialplan applications and functions this file does not say the module of."""
    apps = [a for a in applications if a not in APPLICATIONS and a not in CORE_APPLICATIONS]
    return sorted(apps) + sorted(f for f in functions if f not in FUNCTIONS)


def module_name(name: str) -> str:
    """ARI lists "app_dial.so" and core parts as "cdr": the name without .so."""
    return name.removesuffix(".so")
