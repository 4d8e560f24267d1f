"""Error codes are one enum, used everywhere; the API keeps sending the same strings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rest_framework import exceptions

from competitions.services.errors import Conflict, ErrorCode, InvalidInput
from zkproofs import client

APP = Path(__file__).resolve().parents[2] / "competitions"


def test_codes_are_enum_members_with_stable_strings():
    assert InvalidInput("x").code is ErrorCode.INVALID
    refused = Conflict("x", code=ErrorCode.DUPLICATE_PROOF)
    assert refused.code == "duplicate_proof" and isinstance(refused.code, ErrorCode)
    with pytest.raises(ValueError):
        Conflict("x", code="not_a_code")


def test_drf_refusals_map_to_members():
    for exc in (
        exceptions.ParseError,
        exceptions.NotAuthenticated,
        exceptions.AuthenticationFailed,
        exceptions.PermissionDenied,
        exceptions.NotFound,
        exceptions.MethodNotAllowed,
        exceptions.NotAcceptable,
        exceptions.UnsupportedMediaType,
        exceptions.Throttled,
        exceptions.ValidationError,
    ):
        assert ErrorCode(exc.default_code)


def test_client_timeline_codes_are_platform_codes():
    # zkproofs never imports Django; its copy of the timeline codes must stay in step.
    assert {ErrorCode(code) for code in client.TIMELINE_CODES}


def test_no_bare_string_codes_in_the_app():
    """`code="..."` or `"code": "..."` with a literal string would bypass the enum."""
    offenders = []
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "code"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                offenders.append(f"{path.name}:{node.value.lineno}")
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value == "code"
                        and isinstance(value, ast.Constant)
                    ):
                        offenders.append(f"{path.name}:{value.lineno}")
    assert offenders == []
