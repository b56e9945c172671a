"""What the second factor's forms accept (issue 17): outer sizes only, crm/second_factor decides the rest."""

from __future__ import annotations

from typing import Annotated

from web.schemas import Password, Shorts
from web.validation import Schema, Text

# A TOTP code is 6 digits and a recovery code 11 characters; room for the spaces people type.
Code = Annotated[str, Text(40)]


class CodeForm(Schema):
    """A code from the app, or a recovery code."""
    code: Code = ""


class DisableForm(Schema):
    """Turning one's own second factor off: a current code, or the password."""
    code: Code = ""
    password: Password = ""


class RolesForm(Schema):
    """The roles whose users must give a second factor."""
    roles: Shorts = ()

