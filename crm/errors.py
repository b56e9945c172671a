"""Errors the domain raises for the UI and API to show; messages are fit for users."""

from __future__ import annotations


class DomainError(Exception):
    status = 400


class ValidationError(DomainError):
    """One or more fields are wrong: {field: message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Unavailable(DomainError):
    """The database did not give us a connection in time: try again in a moment."""
    status = 503
