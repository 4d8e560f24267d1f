"""Registering model commitments: the competitor's side of the commit phase.

A commitment is accepted only before the reveal, from an account that is not the
organizer, for an architecture that fits the competition, its model-size limits and its
budget (what proving and verifying it at the competition's N cost, counted from the
architecture alone), with a proof of knowledge of its opening bound to this competition and
this competitor, once platform-wide, and within the per-competitor cap. It gets a receipt
signed by the server, and the record keeps the architecture's cost.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from zkproofs import commitlog, formats, timestamps
from zkproofs.accuracy import BudgetError, CommitmentError, check_budget, verify_commitment
from zkproofs.errors import VerificationError
from zkproofs.ml.architecture import (
    MAX_ENCODED_BYTES,
    Architecture,
    ArchitectureDecodeError,
    ModelLimitError,
)
from zkproofs.params import ROW_WIDTH
from zkproofs.receipts import Receipt

from ..models import Competition, ModelCommitment, Participation, Phase, User
from . import receipts, transparency
from .errors import Conflict, ErrorCode, InvalidInput, NotPermitted
from .uploads import Upload, read_bytes

log = logging.getLogger(__name__)

POINT_BYTES = 48
SCALAR_BYTES = 32


def commitment_size_limit(competition: Competition) -> int:
    """The largest canonical C_W a model within the parameter limit can have."""
    rows = math.ceil(competition.max_parameters / ROW_WIDTH)
    return formats.HEADER + 4 + rows * POINT_BYTES


def knowledge_proof_size() -> int:
    """A proof of knowledge has a fixed size: A, a response per row slot, and z_t."""
    return formats.HEADER + POINT_BYTES + (ROW_WIDTH + 1) * SCALAR_BYTES


def _require_open(competition: Competition, now: datetime) -> None:
    phase = competition.phase(now)
    if phase == Phase.DRAFT:
        raise Conflict("the competition is not open yet (no test set)", code=ErrorCode.NOT_OPEN)
    if phase != Phase.OPEN:
        raise Conflict(
            f"commitments closed at the reveal ({competition.reveal_at.isoformat()})",
            code=ErrorCode.COMMITMENTS_CLOSED,
        )


def _check_architecture(competition: Competition, raw: bytes) -> Architecture:
    try:
        arch = Architecture.from_bytes(raw)
    except ArchitectureDecodeError as exc:
        raise InvalidInput(
            f"the architecture does not decode: {exc}",
            code=ErrorCode.INVALID_ARCHITECTURE,
            field="architecture",
        ) from None
    expected_shape = tuple(competition.input_shape)
    mismatches = []
    if arch.input_shape != expected_shape:
        mismatches.append(f"input shape {arch.input_shape}, expected {expected_shape}")
    if arch.input_range != competition.input_range:
        mismatches.append(f"input range {arch.input_range}, expected {competition.input_range}")
    if arch.num_classes != competition.num_classes:
        mismatches.append(f"{arch.num_classes} classes, expected {competition.num_classes}")
    if mismatches:
        raise InvalidInput(
            "the architecture does not fit the competition: " + "; ".join(mismatches),
            code=ErrorCode.ARCHITECTURE_MISMATCH,
            field="architecture",
        )
    try:
        arch.check_limits(
            max_parameters=competition.max_parameters, max_layers=competition.max_layers
        )
    except ModelLimitError as exc:
        raise InvalidInput(str(exc), code=ErrorCode.MODEL_TOO_LARGE, field="architecture") from None
    return arch


def _check_budget(competition: Competition, arch: Architecture):
    """The architecture's cost at the competition's N, refused over its budget. Counted from
    the architecture and N alone (the proof's schedule): nothing is decoded or compiled, so
    this comes before the commitment's points are read and its proof of knowledge checked."""
    try:
        return check_budget(competition.spec(), arch)
    except BudgetError as exc:
        raise InvalidInput(str(exc), code=ErrorCode.OVER_BUDGET, field="architecture") from None
    except CommitmentError as exc:
        raise InvalidInput(
            f"the architecture cannot be proven: {exc}",
            code=ErrorCode.INVALID_ARCHITECTURE,
            field="architecture",
        ) from None


def _verify(competition: Competition, competitor: User, arch_raw, commitment, knowledge_proof):
    try:
        return verify_commitment(
            competition.spec(), competitor.uuid, arch_raw, commitment, knowledge_proof
        )
    except (VerificationError, formats.FormatError, ValueError) as exc:
        raise InvalidInput(
            f"the commitment was refused: {exc}",
            code=ErrorCode.INVALID_COMMITMENT,
            field="commitment",
        ) from None


_TIMESTAMP_CODES = {
    "malformed": ErrorCode.INVALID_TIMESTAMP,
    "not_granted": ErrorCode.INVALID_TIMESTAMP,
    "wrong_digest": ErrorCode.TIMESTAMP_WRONG_DIGEST,
    "unlisted_authority": ErrorCode.TIMESTAMP_UNLISTED_AUTHORITY,
    "corrupted": ErrorCode.TIMESTAMP_CORRUPTED,
    "after_reveal": ErrorCode.TIMESTAMP_AFTER_REVEAL,
}


def _check_timestamp(competition: Competition, competitor: User, info, token: Upload | None):
    """The RFC 3161 stamp on this commitment, checked (None when the competition lists no
    authority): over this commitment's statement, by a listed authority, before the reveal."""
    authorities = competition.authorities()
    if not authorities:
        if token is not None:
            raise InvalidInput(
                "this competition lists no timestamp authority; commit without a token",
                code=ErrorCode.TIMESTAMP_NOT_ACCEPTED, field="timestamp_token",
            )  # fmt: skip
        return None, b""
    if token is None:
        names = ", ".join(a.name for a in authorities)
        raise InvalidInput(
            f"this competition requires an RFC 3161 timestamp token on each commitment, from "
            f"one of: {names} (`zkarena commit` obtains one)",
            code=ErrorCode.TIMESTAMP_REQUIRED, field="timestamp_token",
        )  # fmt: skip
    raw = read_bytes(token, limit=timestamps.MAX_TOKEN_BYTES, what="timestamp token",
                     field="timestamp_token")  # fmt: skip
    message = timestamps.commitment_message(competition.uuid, competitor.uuid,
                                            info.architecture_digest, info.commitment_digest)
    try:
        stamp = timestamps.check_token(raw, message, authorities, before=competition.reveal_at)
    except timestamps.TimestampError as exc:
        raise InvalidInput(
            f"the timestamp token was refused: {exc}",
            code=_TIMESTAMP_CODES.get(exc.reason, ErrorCode.INVALID_TIMESTAMP),
            field="timestamp_token",
        ) from None
    return stamp, raw


def register_commitment(
    *,
    competition: Competition,
    competitor: User,
    architecture: Upload,
    commitment: Upload,
    knowledge_proof: Upload,
    timestamp_token: Upload | None = None,
    now: datetime | None = None,
) -> ModelCommitment:
    if not competitor.is_active:
        raise NotPermitted("this account is disabled", code=ErrorCode.ACCOUNT_DISABLED)
    if competitor.pk == competition.organizer_id:
        raise NotPermitted(
            "the organizer cannot compete in their own competition",
            code=ErrorCode.ORGANIZER_CANNOT_COMPETE,
        )
    # Cheap checks first; the proof of knowledge is checked outside any transaction.
    _require_open(competition, now or timezone.now())
    arch_raw = read_bytes(
        architecture, limit=MAX_ENCODED_BYTES, what="architecture", field="architecture"
    )
    commitment_raw = read_bytes(
        commitment,
        limit=commitment_size_limit(competition),
        what="commitment (for this competition's parameter limit)",
        field="commitment",
    )
    pok_raw = read_bytes(
        knowledge_proof,
        limit=knowledge_proof_size(),
        what="proof of knowledge",
        field="knowledge_proof",
    )
    arch = _check_architecture(competition, arch_raw)
    cost = _check_budget(competition, arch)
    commitment_digest = hashlib.sha256(commitment_raw).hexdigest()
    if ModelCommitment.objects.filter(commitment_digest=commitment_digest).exists():
        raise Conflict("this commitment is already registered", code=ErrorCode.DUPLICATE_COMMITMENT)
    info = _verify(competition, competitor, arch_raw, commitment_raw, pok_raw)
    if info.commitment_digest.hex() != commitment_digest or info.parameter_count != (
        arch.weight_count
    ):
        # The verifier and this module must agree on what was committed; never store a
        # record they disagree on.
        raise InvalidInput(
            "the commitment does not match its architecture", code=ErrorCode.INVALID_COMMITMENT
        )
    stamp, token_raw = _check_timestamp(competition, competitor, info, timestamp_token)

    spec_digest = competition.test_set_digest
    try:
        with transaction.atomic():
            # Locking the competition row orders this against a test-set replacement and
            # against concurrent registrations (the commitment cap).
            locked = Competition.objects.select_for_update().get(pk=competition.pk)
            now = now or timezone.now()
            _require_open(locked, now)
            if transparency.reveal_entry(locked) is not None:
                # The log already holds this competition's reveal: nothing may follow it.
                raise Conflict(
                    "commitments closed at the reveal, which is in the log",
                    code=ErrorCode.COMMITMENTS_CLOSED,
                )
            if locked.test_set_digest != spec_digest:
                raise Conflict(
                    "the test set changed while the commitment was checked; commit again",
                    code=ErrorCode.TEST_SET_CHANGED,
                )
            # The competition lock above already orders every registration in this
            # competition, so the cap is counted with no other insert in flight; the
            # participation row is the lock of the submission path.
            Participation.objects.get_or_create(
                competition=locked, competitor=competitor, defaults={"joined_at": now}
            )
            used = ModelCommitment.objects.filter(competition=locked, competitor=competitor).count()
            if used >= locked.commitment_cap:
                raise Conflict(
                    f"you have used all {locked.commitment_cap} commitments of this competition",
                    code=ErrorCode.COMMITMENT_CAP_REACHED,
                )
            receipt = Receipt(
                competition_id=locked.uuid,
                submitter_id=competitor.uuid,
                architecture_digest=info.architecture_digest,
                commitment_digest=info.commitment_digest,
                committed_at=now,
            )
            signature, public_key = receipts.sign(receipt)
            record = ModelCommitment.objects.create(
                competition=locked,
                competitor=competitor,
                architecture=arch_raw,
                architecture_digest=info.architecture_digest.hex(),
                parameter_count=info.parameter_count,
                weight_rows=info.weight_rows,
                commitment=commitment_raw,
                commitment_digest=commitment_digest,
                knowledge_proof=pok_raw,
                created_at=now,
                receipt_signature=signature,
                receipt_public_key=public_key.hex(),
                timestamp_token=token_raw,
                timestamp_authority=stamp.authority.name if stamp else "",
                timestamped_at=stamp.time if stamp else None,
                **ModelCommitment.cost_fields(cost),
            )
            token_digest = timestamps.token_digest(token_raw) if token_raw else None
            transparency.append(
                commitlog.CommitmentEntry.from_receipt(receipt, token_digest),
                competition=locked, commitment=record, now=now,
            )  # fmt: skip
    except IntegrityError:
        # Two requests raced with the same commitment: the unique index decided.
        if ModelCommitment.objects.filter(commitment_digest=commitment_digest).exists():
            raise Conflict(
                "this commitment is already registered", code=ErrorCode.DUPLICATE_COMMITMENT
            ) from None
        raise
    log.info(
        "commitment %s registered in %s by %s", commitment_digest[:16], locked.slug, competitor.uuid
    )
    return record


def receipt_for(record: ModelCommitment) -> Receipt:
    """The receipt a commitment record was signed over (for display and re-checking)."""
    return Receipt(
        competition_id=record.competition.uuid,
        submitter_id=record.competitor.uuid,
        architecture_digest=bytes.fromhex(record.architecture_digest),
        commitment_digest=bytes.fromhex(record.commitment_digest),
        committed_at=record.created_at,
    )
