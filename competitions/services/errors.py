"""Refusals raised by the services, each with an HTTP status and a stable code.

The API turns them into ``{"detail": message, "code": code}`` responses and the pages into
form errors; the message is written for the person who made the request.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field  # the request field at fault, when there is one


class InvalidInput(ServiceError):
    """The request itself is wrong: malformed bytes, wrong shape, out-of-range values."""

    status = 400
    default_code = "invalid"


class NotPermitted(ServiceError):
    """This account may not do this (not the organizer, not the owner, banned)."""

    status = 403
    default_code = "permission_denied"


class NotFound(ServiceError):
    status = 404
    default_code = "not_found"


class Conflict(ServiceError):
    """The request is well-formed but the current state refuses it: the wrong phase of the
    timeline, a duplicate, a limit already reached, a test set that is locked."""

    status = 409
    default_code = "conflict"


class TooLarge(ServiceError):
    status = 413
    default_code = "too_large"
