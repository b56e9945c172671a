"""What every call's session works with, built once in the composition root (ari_app/wiring.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ari_app.call_log import CallLogWriter
from ari_app.call_path import CallPath
from ari_app.call_records import CallRecords
from ari_app.client import AriClient
from ari_app.media import CallMedia
from ari_app.pops import PopSender
from ari_app.registry import CallRegistry
from ari_app.ringing import Ringer
from crm.defaults import DEFAULT_TIMEZONE
from crm.routing.view import CrmView

if TYPE_CHECKING:
    from ari_app.agents import AgentService
    from ari_app.recording.service import Recorder
    from ari_app.recording.voicemail import VoicemailRecorder


@dataclass
class SessionDeps:
    ari: AriClient
    # Every ARI media and bridge operation of the call flow goes through this adapter (one, from ari_app/wiring.py).
    media: CallMedia
    ringer: Ringer
    crm: CrmView
    call_log: CallLogWriter
    registry: CallRegistry
    region: str
    round_robin: dict[int, int]
    recorder: "Recorder | None" = None
    voicemail: "VoicemailRecorder | None" = None  # records what a caller nobody took leaves (issue 15)
    pops: "PopSender | None" = None
    agents: "AgentService | None" = None  # wrap-up after a queue call (issue 18)
    timezone: str = DEFAULT_TIMEZONE
    # The trunk numbers go out through when no dial rule names another (PBXCRM_TRUNK).
    trunk: str = "trunk"
    # Where Asterisk finds the uploaded greetings (Settings.greetings_sound_dir), for their media URIs.
    greetings_dir: str = ""
    # The calls being routed, which the teardown of the others waits for (issue 25): the call log's
    # writer and the recorder are given the same one.
    call_path: CallPath = field(default_factory=CallPath)
    # Every call-log write goes through this service, which owns call_log (the writer).
    records: CallRecords = field(init=False)

    def __post_init__(self) -> None:
        self.records = CallRecords(self.call_log, region=self.region, timezone=self.timezone)
