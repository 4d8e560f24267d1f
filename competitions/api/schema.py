"""The OpenAPI schema states every answer an operation can give, not only its success.

drf-spectacular documents what each view declares; the refusals that the platform's
shared layers give to any operation (authentication, throttling, query and body
validation, the request size limit, unsupported bodies) are added here, once, by a
postprocessing hook, all with the one ``Error`` body (``competitions.api.errors``) whose
``code`` is an ``ErrorCode``.
"""

from __future__ import annotations

from ..services.errors import ErrorCode

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refusal: a message for people and a stable code for programs.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
        "field": {"type": "string", "description": "The request field at fault, if one is."},
        "errors": {
            "type": "object",
            "description": "Invalid input: the problems, by field.",
            "additionalProperties": True,
        },
        "retry_after": {
            "type": "number",
            "nullable": True,
            "description": "Throttled: seconds to wait.",
        },
    },
    "required": ["detail", "code"],
}

_BODY_METHODS = {"post", "put", "patch"}


def _is_anonymous(operation: dict) -> bool:
    security = operation.get("security")
    return security is None or security == [] or {} in security


def add_standard_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            # No authentication at all (the token endpoint, the receipt key): say so.
            operation.setdefault("security", [])

            def add(status: int, description: str, responses=responses) -> None:
                responses.setdefault(str(status), {**error, "description": description})

            params = operation.get("parameters", [])
            has_body = method in _BODY_METHODS and "requestBody" in operation
            authenticated = "security" in operation and operation["security"] != []
            if authenticated:
                add(401, "No credentials, or a token that is wrong, expired or revoked.")
            if authenticated and (not _is_anonymous(operation) or has_body):
                add(403, "This account may not do this (or a session without its CSRF token).")
            if any(p.get("in") == "path" for p in params):
                add(404, "No such object, or one you may not see.")
            if has_body or any(p.get("in") == "query" for p in params):
                add(400, "Invalid input: see `errors` and `field`.")
            if has_body:
                add(413, "The request body is over the size limit.")
                add(415, "The body's content type is not one the operation takes.")
            add(429, "Too many requests: retry after `retry_after` seconds.")
    return result
