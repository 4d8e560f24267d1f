"""Pagination of every API list: ``?limit=`` (1 to MAX_PAGE_SIZE, default PAGE_SIZE) and
``?offset=`` (0 to MAX_OFFSET). A value that is not such an integer is refused with 400
instead of being ignored (DRF's default) or sent to the database (a limit past 2^63 was a
500, and ``?limit=9223372036854775807`` returned every row)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination

MAX_PAGE_SIZE = 1000
# Far beyond any list the site holds; keeps the value a plain 32-bit integer.
MAX_OFFSET = 2**31 - 1


def _bounded_int(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or not low <= int(text) <= high:
        raise serializers.ValidationError(
            {name: [f"an integer from {low} to {high} is expected, got {raw[:40]!r}"]}
        )
    return int(text)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_PAGE_SIZE

    @property
    def default_limit(self) -> int:
        return min(settings.REST_FRAMEWORK.get("PAGE_SIZE") or 100, MAX_PAGE_SIZE)

    def get_limit(self, request) -> int:
        return _bounded_int(request, self.limit_query_param, self.default_limit, 1, MAX_PAGE_SIZE)

    def get_offset(self, request) -> int:
        return _bounded_int(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": self.default_limit,
            },
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        }
        for param in params:
            param["schema"].update(bounds.get(param["name"], {}))
        return params
