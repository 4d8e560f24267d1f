"""One JSON shape for every API refusal: ``{"detail": message, "code": code}``, plus
``"errors"`` (per field) for invalid input and ``"field"`` when one field is at fault."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..services.errors import ServiceError


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's 500 handling takes over
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": "the request is invalid; see errors",
            "code": "invalid",
            "errors": response.data,
        }
    elif isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(detail), "code": code}
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
            response.data["retry_after"] = getattr(exc, "wait", None)
    return response
