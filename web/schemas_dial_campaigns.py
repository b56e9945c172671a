"""What the dial campaign pages accept (web/views/dial_campaigns.py): the campaign's form. Types and wide
bounds here; the campaign's own rules (crm/outbound/campaigns.problems) say what is wrong in words."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from web.schemas import Name, Short
from web.validation import BlankIsNone, Checkbox, Ids, OptionalId, Schema

Small = Annotated[int, Field(ge=0, le=100000)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=2, allow_inf_nan=False)]
OptionalSmall = Annotated[Small | None, BlankIsNone]


class DialCampaignForm(Schema):
    """A new campaign or a change; retry_<outcome>_attempts/_after and amd_<parameter> per model.py."""
    name: Name = ""
    mode: Short = "progressive"
    takers: Short = "agents"  # agents | queue
    agent_ids: Ids = ()
    queue_id: OptionalId = None
    order_id: OptionalId = None
    window_from: Small = 9
    window_to: Small = 21
    timezone: Short = ""
    drop_limit: Percent = Decimal(3)
    max_ratio: Percent = Decimal(3)
    ring_seconds: Small = 25
    caller_id: Short = ""
    amd: Checkbox = False
    machine_action: Short = "hangup"
    retry_busy_attempts: OptionalSmall = None
    retry_busy_after: OptionalSmall = None
    retry_no_answer_attempts: OptionalSmall = None
    retry_no_answer_after: OptionalSmall = None
    retry_machine_attempts: OptionalSmall = None
    retry_machine_after: OptionalSmall = None
    retry_failed_attempts: OptionalSmall = None
    retry_failed_after: OptionalSmall = None
    amd_initial_silence: OptionalSmall = None
    amd_greeting: OptionalSmall = None
    amd_after_greeting_silence: OptionalSmall = None
    amd_total_analysis_time: OptionalSmall = None
    amd_minimum_word_length: OptionalSmall = None
    amd_between_words_silence: OptionalSmall = None
    amd_maximum_number_of_words: OptionalSmall = None
    amd_silence_threshold: OptionalSmall = None
    amd_maximum_word_length: OptionalSmall = None
