"""The ChannelTransfer event (Asterisk 22, res_pjsip_refer with PJSIP_TRANSFER_HANDLING=ari-only)
as the facts the transfer service needs. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferRequest:
    """A phone asked for a transfer (SIP REFER) on `source`, one of its calls' channels."""

    source: str
    # The Refer-To URI's user part: what the user dialled (blind), or the consulted number (attended).
    destination: str
    # Attended (Refer-To with Replaces): the SIP Call-ID of the consultation call, and its channel
    # when Asterisk found that dialog among its own (None: not one of this Asterisk's).
    replaces: str | None = None
    consultation: str | None = None
    # Set on the events that echo the app's own transfer_progress; the request itself has none.
    state: str | None = None

    @property
    def attended(self) -> bool:
        return self.replaces is not None or self.consultation is not None

    @classmethod
    def from_event(cls, event: dict) -> "ReferRequest":
        refer_to = event.get("refer_to") or {}
        wanted = refer_to.get("requested_destination") or {}
        consultation = (refer_to.get("destination_channel") or {}).get("id")
        return cls(source=event["referred_by"]["source_channel"]["id"], destination=wanted.get("destination") or "",
                   replaces=wanted.get("protocol_id") or None, consultation=consultation, state=event.get("state"))
