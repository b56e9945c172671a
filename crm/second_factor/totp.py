"""The second factor's decisions, without I/O: TOTP codes (RFC 6238) and their replay,
recovery codes, who has to give a second factor at login.

A code belongs to a time step (unix time // 30). One step either side of now is accepted
(a phone's clock a little off, a code typed as it changed), and a code whose step is not
past the last one accepted is refused: seen once, a code is spent.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass

import pyotp
import segno

from crm.users import throttle

STEP_SECONDS = 30
DIGITS = 6
# Steps either side of now whose codes are accepted.
WINDOW = 1
ISSUER = "pbxcrm"
RECOVERY_CODES = 10
# Letters and digits nobody confuses when reading them off paper (no 0/o, 1/l/i).
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_HALF = 5
_CODE = re.compile(rf"^[0-9]{{{DIGITS}}}$")

# Wrong codes for one user: five free, then 1 s, 2 s, 4 s ... up to 15 minutes; forgotten after an hour.
POLICY = throttle.Policy(free_failures=5, forget_after=3600.0)


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    REPLAYED = "replayed"  # right code, but its step is spent
    WRONG = "wrong"
    MALFORMED = "malformed"  # not six digits


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    step: int | None = None  # the step of the accepted (or replayed) code


def new_secret() -> str:
    """A fresh shared secret: 160 bits, base32 (what authenticator apps read)."""
    return pyotp.random_base32()


def step_at(when: dt.datetime) -> int:
    return int(when.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def clean_code(typed: str) -> str:
    """What was typed, without the spaces and dashes people put in codes ("123 456")."""
    return "".join(typed.split()).replace("-", "")


def looks_like_totp(typed: str) -> bool:
    return bool(_CODE.match(clean_code(typed)))


def check_code(secret: str, typed: str, now: dt.datetime, last_step: int | None) -> Check:
    """Whether a typed code opens the door now, given the last step accepted (None: never)."""
    code = clean_code(typed)
    if not _CODE.match(code):
        return Check(Verdict.MALFORMED)
    current = step_at(now)
    replayed = None
    # The newest step first: of two matching steps (a chance of one in a million), the unspent one wins.
    for step in range(current + WINDOW, current - WINDOW - 1, -1):
        if hmac.compare_digest(code_at(secret, step), code):
            if last_step is not None and step <= last_step:
                replayed = step
                continue
            return Check(Verdict.ACCEPTED, step)
    if replayed is not None:
        return Check(Verdict.REPLAYED, replayed)
    return Check(Verdict.WRONG)


def provisioning_uri(secret: str, login: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_svg(uri: str) -> bytes:
    """The QR code of an address as a standalone SVG (black on white, no script, no style)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=4, dark="#000", light="#fff",
                                    xmldecl=True, svgns=True)
    return out.getvalue()


def formatted_secret(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# -- recovery codes --------------------------------------------------------------------------

def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Fresh codes like "k7m2p-x9qfd": about 50 bits each."""
    def half() -> str:
        return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_HALF))
    return [f"{half()}-{half()}" for _ in range(count)]


def recovery_key(typed: str) -> str:
    """A recovery code as stored: lower case, without spaces and dashes."""
    return clean_code(typed).casefold()


def recovery_hash(typed: str) -> bytes:
    return hashlib.sha256(recovery_key(typed).encode()).digest()


def looks_like_recovery(typed: str) -> bool:
    key = recovery_key(typed)
    return len(key) == 2 * _RECOVERY_HALF and all(c in _RECOVERY_ALPHABET for c in key)


# -- who gives a second factor ---------------------------------------------------------------

class Step(enum.Enum):
    NONE = "none"      # the password is enough
    VERIFY = "verify"  # a code (or a recovery code) before the session opens
    ENROL = "enrol"    # the role requires one and the user has none: set it up first


def login_step(role: str, enrolled: bool, required_roles: Collection[str]) -> Step:
    """After a right password: what comes before a session opens."""
    if enrolled:
        return Step.VERIFY
    return Step.ENROL if role in required_roles else Step.NONE


def may_disable(role: str, required_roles: Collection[str]) -> bool:
    """A user may turn their second factor off only when their role does not require it."""
    return role not in required_roles
