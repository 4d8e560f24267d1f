"""Refusals raised by the services, each with an HTTP status and a stable code.

Every code the platform answers with is a member of :class:`ErrorCode`: the services, the
API views, the JSON error handlers and the middleware use the enum, never a bare string,
and the API sends its value (``{"detail": message, "code": code}``), so clients can rely on
the strings below. The pages turn refusals into form errors; the message is written for the
person who made the request.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The stable ``code`` of every refusal (docs/platform.md lists them by endpoint)."""

    # Generic, also used by DRF's own refusals (their default codes).
    INVALID = "invalid"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    SERVER_ERROR = "server_error"
    # Requests and uploads.
    REQUEST_TOO_LARGE = "request_too_large"
    TOO_MANY_FIELDS = "too_many_fields"
    FILE_TOO_LARGE = "file_too_large"
    EMPTY_FILE = "empty_file"
    DIGEST_MISMATCH = "digest_mismatch"
    FILE_MISSING = "file_missing"
    # Accounts.
    ACCOUNT_DISABLED = "account_disabled"
    USERNAME_TAKEN = "username_taken"
    USERNAME_CONFUSABLE = "username_confusable"
    LOCKED_OUT = "locked_out"
    # Competitions and test sets.
    NOT_AN_ORGANIZER = "not_an_organizer"
    NOT_ORGANIZER = "not_organizer"
    SLUG_TAKEN = "slug_taken"
    NO_TEST_SET = "no_test_set"
    INVALID_TEST_SET = "invalid_test_set"
    TEST_SET_LOCKED = "test_set_locked"
    TEST_SET_CHANGED = "test_set_changed"
    NOT_REVEALED = "not_revealed"
    # Training data files.
    INVALID_DATA_FILE = "invalid_data_file"
    DATA_FILE_EXISTS = "data_file_exists"
    TOO_MANY_DATA_FILES = "too_many_data_files"
    # The timeline.
    NOT_OPEN = "not_open"
    COMMITMENTS_CLOSED = "commitments_closed"
    PROOFS_NOT_OPEN = "proofs_not_open"
    PROOFS_CLOSED = "proofs_closed"
    # Commitments.
    ORGANIZER_CANNOT_COMPETE = "organizer_cannot_compete"
    INVALID_ARCHITECTURE = "invalid_architecture"
    ARCHITECTURE_MISMATCH = "architecture_mismatch"
    MODEL_TOO_LARGE = "model_too_large"
    OVER_BUDGET = "over_budget"
    INVALID_COMMITMENT = "invalid_commitment"
    DUPLICATE_COMMITMENT = "duplicate_commitment"
    COMMITMENT_CAP_REACHED = "commitment_cap_reached"
    # Independent timestamps (RFC 3161) on commitments.
    INVALID_TIMESTAMP_AUTHORITY = "invalid_timestamp_authority"
    TIMESTAMP_REQUIRED = "timestamp_required"
    TIMESTAMP_NOT_ACCEPTED = "timestamp_not_accepted"
    INVALID_TIMESTAMP = "invalid_timestamp"
    TIMESTAMP_WRONG_DIGEST = "timestamp_wrong_digest"
    TIMESTAMP_UNLISTED_AUTHORITY = "timestamp_unlisted_authority"
    TIMESTAMP_CORRUPTED = "timestamp_corrupted"
    TIMESTAMP_AFTER_REVEAL = "timestamp_after_reveal"
    # The commitment log.
    LOG_OUT_OF_RANGE = "log_out_of_range"
    # Submissions.
    MALFORMED_PROOF = "malformed_proof"
    UNKNOWN_COMMITMENT = "unknown_commitment"
    NOT_YOUR_COMMITMENT = "not_your_commitment"
    PROOF_MISMATCH = "proof_mismatch"
    CLAIM_ABOVE_TEST_SIZE = "claim_above_test_size"
    CLAIM_BELOW_THRESHOLD = "claim_below_threshold"
    DUPLICATE_PROOF = "duplicate_proof"
    SUBMISSION_LIMIT_REACHED = "submission_limit_reached"


class ServiceError(Exception):
    status = 400
    default_code = ErrorCode.INVALID

    def __init__(self, message: str, *, code: ErrorCode | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        # ErrorCode(...) refuses a string that is not one of the codes above.
        self.code = ErrorCode(code) if code is not None else self.default_code
        self.field = field  # the request field at fault, when there is one


class InvalidInput(ServiceError):
    """The request itself is wrong: malformed bytes, wrong shape, out-of-range values."""

    status = 400
    default_code = ErrorCode.INVALID


class NotPermitted(ServiceError):
    """This account may not do this (not the organizer, not the owner, banned)."""

    status = 403
    default_code = ErrorCode.PERMISSION_DENIED


class NotFound(ServiceError):
    status = 404
    default_code = ErrorCode.NOT_FOUND


class Conflict(ServiceError):
    """The request is well-formed but the current state refuses it: the wrong phase of the
    timeline, a duplicate, a limit already reached, a test set that is locked."""

    status = 409
    default_code = ErrorCode.CONFLICT


class TooLarge(ServiceError):
    status = 413
    default_code = ErrorCode.TOO_LARGE


class TooManyRequests(ServiceError):
    """Too many attempts from this client or on this account; ``retry_after`` seconds."""

    status = 429
    default_code = ErrorCode.THROTTLED

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
