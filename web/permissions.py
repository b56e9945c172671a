"""Role checks for views."""

from __future__ import annotations

import functools

from starlette.exceptions import HTTPException
from starlette.requests import Request

from crm.i18n import gettext as _


def require_role(*roles: str):
    """Only users with one of these roles get through; others get 403."""

    def decorate(view):
        @functools.wraps(view)
        async def wrapper(request: Request):
            user = request.user
            if user is None:
                raise HTTPException(401, _("login required"))
            if user["role"] not in roles:
                raise HTTPException(403, _("your role does not allow this"))
            return await view(request)

        return wrapper

    return decorate
