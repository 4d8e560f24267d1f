"""Creating submissions (proofs of accuracy for a commitment) and moderating them.

A submission is accepted only between the reveal and the proof deadline, for one of the
submitter's own commitments in this competition, with a claim between ⌈threshold·N⌉ and
N, a proof file within the size limit whose header names this submission's context
(competition digest, submitter, architecture, commitment, N, claim) and whose length is
the one it declares, and within the per-competitor submission limit. It then waits in
``queued``: after the transaction commits, the ``submission_queued`` signal hands it to the
verifier app.

Cost before checks: everything that can refuse a request is checked before the proof's body
is read, and the body is never decoded here (``proof_files``). In order: the account and
the phase; that the competitor has a commitment here at all (``check_can_submit``, which the
API runs before it even parses the request body); the declared size; the header; ownership;
the statement and the claim; the body's length; then one streaming pass that hashes the
file and counts its bytes; then the locked transaction (duplicates, limits) that stores it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Competition, ModelCommitment, Participation, Phase, Submission, User
from ..signals import submission_queued
from . import proof_files, transparency
from .errors import Conflict, ErrorCode, InvalidInput, NotPermitted, TooLarge
from .proof_files import ProofHeader
from .uploads import Upload, check_declared_size, hash_upload, read_prefix

log = logging.getLogger(__name__)


def _require_proof_phase(competition: Competition, now: datetime) -> None:
    phase = competition.phase(now)
    if phase in (Phase.DRAFT, Phase.OPEN):
        raise Conflict(
            "proofs are accepted only after the test set is revealed"
            + (f" ({competition.reveal_at.isoformat()})" if phase == Phase.OPEN else ""),
            code=ErrorCode.PROOFS_NOT_OPEN,
        )
    if phase == Phase.CLOSED:
        raise Conflict(
            f"the proof deadline has passed ({competition.proof_deadline.isoformat()})",
            code=ErrorCode.PROOFS_CLOSED,
        )


def _require_active(competitor: User) -> None:
    if not competitor.is_active:
        raise NotPermitted("this account is disabled", code=ErrorCode.ACCOUNT_DISABLED)


def _require_a_commitment(competition: Competition, competitor: User) -> None:
    if not ModelCommitment.objects.filter(
        competition=competition, competitor_id=competitor.pk
    ).exists():
        raise NotPermitted(
            "proofs are accepted only for your own commitments, and you have none in this "
            "competition (commitments close at the reveal)",
            code=ErrorCode.NOT_YOUR_COMMITMENT,
        )


# Room for the multipart framing and the small form fields around the proof file.
MULTIPART_ALLOWANCE = 64 * 1024


def check_can_submit(
    *,
    competition: Competition,
    competitor: User,
    content_length: int | None,
    now: datetime | None = None,
) -> None:
    """The checks that need none of the request body, run before it is parsed: the
    account, the phase, that the competitor has a commitment here, and the request's
    declared length against the proof size limit. ``create_submission`` repeats them."""
    _require_active(competitor)
    _require_proof_phase(competition, now or timezone.now())
    _require_a_commitment(competition, competitor)
    limit = settings.MAX_PROOF_BYTES + MULTIPART_ALLOWANCE
    if content_length is not None and content_length > limit:
        raise TooLarge(
            f"the request body of {content_length} bytes exceeds what a proof of at most "
            f"{settings.MAX_PROOF_BYTES} bytes needs",
            code=ErrorCode.FILE_TOO_LARGE,
            field="proof",
        )


def _find_commitment(
    competition: Competition, competitor: User, commitment_id: int | None, proof: ProofHeader
) -> ModelCommitment:
    found = ModelCommitment.objects.filter(competition=competition).only(
        "id", "competitor_id", "competition_id", "commitment_digest", "architecture_digest",
        "architecture",
    )
    if commitment_id is not None:
        found = found.filter(pk=commitment_id)
    else:  # the proof file names its commitment
        found = found.filter(commitment_digest=proof.commitment_digest.hex())
    commitment = found.first()
    if commitment is None:
        raise InvalidInput(
            "no such commitment in this competition",
            code=ErrorCode.UNKNOWN_COMMITMENT,
            field="commitment",
        )
    if commitment.competitor_id != competitor.pk:
        raise NotPermitted(
            "proofs can only be submitted for your own commitments",
            code=ErrorCode.NOT_YOUR_COMMITMENT,
        )
    return commitment


def _check_statement(
    proof: ProofHeader,
    competition: Competition,
    commitment: ModelCommitment,
    competitor: User,
    claimed_count: int | None,
) -> int:
    """The public values in the proof file must be this submission's; returns the claim."""
    wrong = []
    if proof.competition_digest != competition.spec().digest():
        wrong.append("it is bound to another competition digest (competition or test set)")
    if proof.submitter_id != competitor.uuid:
        wrong.append("it was made for another submitter id")
    if proof.commitment_digest.hex() != commitment.commitment_digest:
        wrong.append("it is for another commitment")
    if proof.architecture_digest.hex() != commitment.architecture_digest:
        wrong.append("its architecture digest differs from the committed architecture")
    if proof.num_samples != competition.test_set_num_samples:
        wrong.append(
            f"it is for {proof.num_samples} samples, not {competition.test_set_num_samples}"
        )
    if claimed_count is not None and proof.claimed != claimed_count:
        wrong.append(f"it claims {proof.claimed}, the request {claimed_count}")
    if wrong:
        raise InvalidInput(
            "the proof does not belong to this submission: " + "; ".join(wrong),
            code=ErrorCode.PROOF_MISMATCH,
            field="proof",
        )
    return proof.claimed


def _check_claim(competition: Competition, claimed_count: int) -> None:
    required = competition.required_correct
    n = competition.test_set_num_samples
    if claimed_count > n:
        raise InvalidInput(
            f"the claim {claimed_count} exceeds the {n} test samples",
            code=ErrorCode.CLAIM_ABOVE_TEST_SIZE,
            field="claimed_count",
        )
    if claimed_count < required:
        raise InvalidInput(
            f"the claim {claimed_count} is below the threshold: at least {required} of {n} "
            f"samples ({competition.threshold} of them, rounded up) must be right",
            code=ErrorCode.CLAIM_BELOW_THRESHOLD,
            field="claimed_count",
        )


def create_submission(
    *,
    competition: Competition,
    competitor: User,
    proof: Upload,
    commitment_id: int | None = None,
    claimed_count: int | None = None,
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> Submission:
    """Accept a proof file (``zkproofs.accuracy.AccuracyProof`` bytes) for one of the
    competitor's commitments. ``commitment_id`` and ``claimed_count`` are optional: the
    proof file names both, and when given they must agree with it."""
    _require_active(competitor)
    _require_proof_phase(competition, now or timezone.now())
    _require_a_commitment(competition, competitor)
    # A proof is possible only once the test set is revealed: the reveal is in the log
    # before the first proof, whoever noticed it first (transparency.ensure_reveal_logged).
    transparency.ensure_reveal_logged(competition, now)
    check_declared_size(proof, limit=settings.MAX_PROOF_BYTES, what="proof", field="proof")
    header = proof_files.read_header(read_prefix(proof, proof_files.PROOF_HEADER_BYTES))
    commitment = _find_commitment(competition, competitor, commitment_id, header)
    claimed_count = _check_statement(header, competition, commitment, competitor, claimed_count)
    _check_claim(competition, claimed_count)
    proof_files.check_body_length(header, competition=competition, commitment=commitment)
    if proof.size is not None:
        proof_files.check_total_length(header, proof.size)
    # Only now is the whole file read: once, in chunks, to hash it and count its bytes.
    digest, size = hash_upload(
        proof,
        limit=header.total_length,
        what="proof",
        field="proof",
        expected_sha256=expected_sha256,
    )
    proof_files.check_total_length(header, size)

    stored_name = None
    try:
        with transaction.atomic():
            # The competitor's participation row is the per-competitor lock: a concurrent
            # submission waits here until this one commits, then counts it.
            participation, _ = Participation.objects.get_or_create(
                competition=competition, competitor=competitor
            )
            Participation.objects.select_for_update().get(pk=participation.pk)
            now = now or timezone.now()
            _require_proof_phase(competition, now)
            if Submission.objects.filter(commitment=commitment, proof_sha256=digest).exists():
                raise Conflict(
                    "this proof was already submitted for this commitment",
                    code=ErrorCode.DUPLICATE_PROOF,
                )
            used = Submission.objects.filter(competition=competition, competitor=competitor).count()
            if used >= competition.submission_limit:
                raise Conflict(
                    f"you have used all {competition.submission_limit} submissions of this "
                    "competition",
                    code=ErrorCode.SUBMISSION_LIMIT_REACHED,
                )
            # Streamed from the uploaded file (already on disk when it is large).
            stored_name = default_storage.save(
                f"proofs/{competition.uuid}/{digest}.zkproof", proof
            )
            submission = Submission.objects.create(
                competition=competition,
                competitor=competitor,
                commitment=commitment,
                claimed_count=claimed_count,
                proof=stored_name,
                proof_sha256=digest,
                proof_size=size,
                created_at=now,
            )
            transaction.on_commit(lambda: _announce(submission.pk), robust=True)
    except IntegrityError:
        if stored_name:
            default_storage.delete(stored_name)
        # A concurrent upload of the same proof: the unique constraint decided.
        if Submission.objects.filter(commitment=commitment, proof_sha256=digest).exists():
            raise Conflict(
                "this proof was already submitted for this commitment",
                code=ErrorCode.DUPLICATE_PROOF,
            ) from None
        raise
    except BaseException:
        if stored_name:
            default_storage.delete(stored_name)
        raise
    log.info("submission %s queued (c=%d) in %s", submission.pk, claimed_count, competition.slug)
    return submission


def _announce(submission_id: int) -> None:
    submission_queued.send(sender=Submission, submission_id=submission_id)


def set_hidden(submission: Submission, *, by: User, hidden: bool, reason: str = "") -> Submission:
    """Moderation: hide a submission from the leaderboard and public pages (or show it)."""
    if not (by.is_active and by.is_staff):
        raise NotPermitted("only staff may moderate submissions")
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        locked.hidden = hidden
        locked.hidden_reason = reason[:500] if hidden else ""
        locked.save(update_fields=["hidden", "hidden_reason", "updated_at"])
    log.info("submission %s %s by %s", locked.pk, "hidden" if hidden else "shown", by.username)
    return locked
