"""One JSON shape for every API refusal: ``{"detail": message, "code": code}``, plus
``"errors"`` (per field) for invalid input, ``"field"`` when one field is at fault and
``"retry_after"`` (seconds) when throttled. Every code is a ``services.errors.ErrorCode``."""

from __future__ import annotations

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..services.errors import ErrorCode, ServiceError, TooManyRequests


def error_body(message: str, code: ErrorCode, **extra) -> dict:
    return {"detail": message, "code": ErrorCode(code), **extra}


def _code(value, status_code: int) -> ErrorCode:
    try:
        return ErrorCode(str(value))
    except ValueError:
        return ErrorCode.SERVER_ERROR if status_code >= 500 else ErrorCode.INVALID


def suspicious_request(exc: SuspiciousOperation) -> tuple[dict, int]:
    """Django's refusals of a request body over its form limits, as JSON."""
    if isinstance(exc, RequestDataTooBig):
        return (
            error_body(
                "the form fields of the request are too large (files go in file fields)",
                ErrorCode.REQUEST_TOO_LARGE,
            ),
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return (
            error_body("the request has too many fields or files", ErrorCode.TOO_MANY_FIELDS),
            status.HTTP_400_BAD_REQUEST,
        )
    return error_body("the request is malformed", ErrorCode.INVALID), status.HTTP_400_BAD_REQUEST


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = error_body(exc.message, exc.code)
        if exc.field:
            body["field"] = exc.field
        response = Response(body, status=exc.status)
        if isinstance(exc, TooManyRequests) and exc.retry_after is not None:
            body["retry_after"] = exc.retry_after
            response["Retry-After"] = str(max(1, int(exc.retry_after)))
        return response
    if isinstance(exc, SuspiciousOperation):
        body, code = suspicious_request(exc)
        return Response(body, status=code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's 500 handling takes over
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "the request is invalid; see errors", ErrorCode.INVALID, errors=response.data
        )
    elif isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        raw = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(str(detail), _code(raw, response.status_code))
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
            response.data["retry_after"] = getattr(exc, "wait", None)
    return response
