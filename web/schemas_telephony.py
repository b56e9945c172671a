"""What the telephony admin's and the agents' routes accept (queues, dial and call rules, lines,
greetings and IVR menus, agent presence): pydantic models of their forms and bodies, split from
web/schemas.py (the CRM's) by domain. Types and outer sizes only, as there."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web import limits as L
from web.schemas import ScriptText, Seconds, Short, Shorts
from web.validation import BlankIsNone, Checkbox, Ids, OptionalId, Schema, Text


class QueueForm(Schema):
    name: Short = ""
    strategy: Short = "ringall"
    ring_seconds: Seconds = None
    max_wait_seconds: Seconds = None
    moh_class: Short = "default"
    member_ids: Ids = ()
    offer: Short = "both"
    wrapup_seconds: Seconds = None
    # The wallboard's thresholds (issue 18); blank: the defaults.
    service_level_seconds: Seconds = None
    wait_amber_seconds: Seconds = None
    wait_red_seconds: Seconds = None
    level_amber_percent: Seconds = None
    level_red_percent: Seconds = None
    call_script: ScriptText | None = None  # the screen pop's script (H5); absent: left as it is


class RoutingForm(Schema):
    manager_ring_seconds: Seconds = None


# A small whole number, or None when left blank (a rule's order, digits to strip).
SmallNumber = Annotated[Annotated[int, Field(ge=0, le=10_000)] | None, BlankIsNone]


class DialRuleForm(Schema):
    """An outbound dial rule (crm/dialing/rules.py checks it)."""
    position: SmallNumber = None
    pattern: Short = ""
    strip: SmallNumber = None
    prepend: Short = ""
    trunk: Short = ""
    note: Annotated[str, Text(L.REMARK)] = ""


class DialRuleTryQuery(Schema):
    """/admin/dial-rules?number=...: what the rules make of a number."""
    number: Annotated[str, Text(L.PHONE)] = ""


class CallRuleForm(Schema):
    """A call rule (crm/calls/rules.py checks it): yes/no conditions as "yes", "no" or "" (any)."""
    position: SmallNumber = None
    action: Short = ""
    effect: Short = ""
    roles: Shorts = ()
    took_part: Short = ""
    directions: Shorts = ()
    finished: Short = ""
    line_ids: Ids = ()
    queue_ids: Ids = ()
    responsible: Short = ""
    owner: Short = ""
    card_deleted: Short = ""
    note: Annotated[str, Text(L.REMARK)] = ""


class CallRuleMoveForm(Schema):
    """Move a call rule up (-1) or down (1)."""
    steps: Annotated[int, Field(ge=-100, le=100)] = 0


# ---- lines and DIDs (issue 15) -------------------------------------------------------------------

# A day's opening intervals as typed: "09:00-13:00, 14:00-18:00" (crm/lines/schedule.py reads them).
DayHours = Annotated[str, Text(200)]


class LineForm(Schema):
    name: Short = ""
    trunk: Short = ""
    did: Short = ""
    language: Short = ""
    route_kind: Short = "crm"
    route_queue_id: OptionalId = None
    route_user_id: OptionalId = None
    hours_enabled: Checkbox = False
    hours_0: DayHours = ""
    hours_1: DayHours = ""
    hours_2: DayHours = ""
    hours_3: DayHours = ""
    hours_4: DayHours = ""
    hours_5: DayHours = ""
    hours_6: DayHours = ""
    # One holiday a line: "2025-01-01 New Year", "2025-12-31 10:00-15:00 New Year's Eve".
    holidays: Annotated[str, Text(20_000)] = ""
    after_hours_kind: Short = "hangup"
    after_hours_queue_id: OptionalId = None
    after_hours_user_id: OptionalId = None
    # Greetings and IVR menus (issue 15).
    route_menu_id: OptionalId = None
    after_hours_menu_id: OptionalId = None
    greeting: Short = ""  # "greeting:<id>", "sound:<name>" or "" (crm/greetings/prompts.py)
    skip_menu_for_known: Checkbox = False


# ---- greetings and IVR menus (issue 15) ----------------------------------------------------------

class GreetingForm(Schema):
    name: Short = ""


class MenuForm(Schema):
    """A menu: its prompt, each key's route ("queue:5", "crm"... or "" for none; crm/ivr/model.py)."""

    name: Short = ""
    prompt: Short = ""
    timeout_seconds: Seconds = None
    replays: Seconds = None
    timeout_route: Short = "crm"
    skip_known: Checkbox = False
    key_1: Short = ""
    key_2: Short = ""
    key_3: Short = ""
    key_4: Short = ""
    key_5: Short = ""
    key_6: Short = ""
    key_7: Short = ""
    key_8: Short = ""
    key_9: Short = ""
    key_0: Short = ""
    key_star: Short = ""
    key_hash: Short = ""


# ---- agent presence (issue 18) ----

class AgentIn(Schema):
    """An agent's own change: action login, logout, pause, resume or end_wrapup; a queue (login and logout
    of one queue), a pause reason; `next`: the page to go back to (a form from the header)."""
    action: Short = ""
    queue_id: OptionalId = None
    reason_id: OptionalId = None
    next: Annotated[str, Text(L.SEARCH)] = ""


class PauseReasonForm(Schema):
    name: Short = ""
