"""What the call path needs to dial, cached by the routing view (crm/routing/view.py), and a
user's follow-me setting as typed. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crm.dialing.rules import DialRule
from crm.dialing.technology import default_dial
from crm.errors import ValidationError
from crm.i18n import _
from crm.phones import InvalidPhone, normalize_phone

FOLLOW_ME_SECONDS = (5, 120)


@dataclass(frozen=True)
class FollowMe:
    """Ring the user's mobile when the desk phone has not taken the call after `desk_seconds`."""

    mobile: str  # E.164
    desk_seconds: int


@dataclass(frozen=True)
class Dialing:
    """The dial rules in order, the users' dial strings that are not the default (by extension),
    and who follows calls to a mobile (by user id)."""

    rules: tuple[DialRule, ...] = ()
    dials: Mapping[str, str] = field(default_factory=dict)
    follow_me: Mapping[int, FollowMe] = field(default_factory=dict)

    def dial_of(self, extension: str) -> str:
        """Where the phone of this extension is rung: its user's dial string, or PJSIP/<extension>."""
        return self.dials.get(extension) or default_dial(extension)

    def follow_me_of(self, user_id: int | None) -> FollowMe | None:
        return self.follow_me.get(user_id) if user_id is not None else None


@dataclass(frozen=True)
class FollowMeInput:
    """A mobile number as written (blank: none) and the seconds at the desk before it rings (None: never)."""

    mobile: str = ""
    seconds: int | None = None

    def cleaned(self, region: str) -> tuple[str | None, int | None]:
        """(the mobile as E.164 or None, the seconds or None); ValidationError naming the field."""
        mobile = None
        if self.mobile.strip():
            try:
                mobile = normalize_phone(self.mobile, region)
            except InvalidPhone as e:
                raise ValidationError({"mobile": str(e)}) from None
            if not mobile.startswith("+"):
                raise ValidationError({"mobile": _("a mobile is a full phone number, e.g. +7 916 123-45-67, "
                                                   "not an extension")})
        if self.seconds is not None:
            low, high = FOLLOW_ME_SECONDS
            if not low <= self.seconds <= high:
                raise ValidationError({"follow_me_seconds": _("the desk rings %(low)d to %(high)d seconds before "
                                                              "the mobile") % {"low": low, "high": high}})
            if mobile is None:
                raise ValidationError({"mobile": _("a mobile number is needed to follow calls there")})
        return mobile, self.seconds
