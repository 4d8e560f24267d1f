"""Verification of submissions: the only code that writes the verifier's fields.

A verification runs in three steps, so that no database lock is held while the proof is
checked (which takes from a fraction of a second to minutes):

1. ``claim``: under ``SELECT … FOR UPDATE``, ``queued → verifying`` with ``attempts + 1``
   and the Celery task id as the holder of the claim. A final submission is never claimed
   again, and a claim held by another live task is left alone: a duplicate enqueue is a
   no-op.
2. ``check``: outside any transaction, the proof is verified against
   what the platform stored: the competition's test set and salt, the architecture and
   commitment bytes of the ``ModelCommitment`` record. The submitter contributes only the
   proof file.
3. ``record``: under the row lock again, the outcome is written only if this claim still
   holds (same attempt number). A claim taken over in between (the worker was presumed lost)
   makes the late outcome a no-op, so an outcome is recorded exactly once.

A claim is taken over when it is *stale* (still ``verifying`` past the task's hard time
limit plus a grace: its worker is gone) or held by the same Celery task id (the broker
redelivered the message of a worker that died, or the task is retrying after a transient
error). ``sweep`` puts stale claims back to ``queued`` and re-sends queued submissions whose
message was lost; after ``VERIFIER_MAX_ATTEMPTS`` attempts a submission is rejected with the
reason, so nothing stays unfinished.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import struct
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from competitions.models import Submission, SubmissionStatus
from zkproofs import accuracy, formats
from zkproofs.errors import VerificationError

log = logging.getLogger(__name__)

FINAL = (SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED)


# ------------------------------------------------------------------ limits


def time_limits(num_samples: int | None) -> tuple[int, int]:
    """(soft, hard) seconds for verifying a proof over ``num_samples`` test samples."""
    soft = settings.VERIFIER_SOFT_LIMIT_BASE + settings.VERIFIER_SOFT_LIMIT_PER_SAMPLE * (
        num_samples or 0
    )
    soft = max(1, min(math.ceil(soft), settings.VERIFIER_SOFT_LIMIT_MAX))
    return soft, soft + settings.VERIFIER_HARD_LIMIT_GRACE


def stale_after(num_samples: int | None) -> timedelta:
    """How long a claim may stay ``verifying`` before its worker is presumed lost: by then
    the hard time limit would have killed a live verification."""
    return timedelta(seconds=time_limits(num_samples)[1] + settings.VERIFIER_STALE_GRACE)


# ------------------------------------------------------------------ the log


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _append_log(submission: Submission, now: datetime, line: str) -> None:
    """One human-readable line per event, oldest first."""
    entry = f"{_stamp(now)} {line}"
    submission.verification_log = (
        f"{submission.verification_log}\n{entry}" if submission.verification_log else entry
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# ------------------------------------------------------------------ step 1: claim


@dataclass(frozen=True)
class Claim:
    submission_id: int
    attempt: int
    num_samples: int | None


def _reject_locked(submission: Submission, now: datetime, reason: str) -> None:
    submission.status = SubmissionStatus.REJECTED
    submission.verification_finished_at = now
    _append_log(submission, now, f"rejected: {reason}")
    submission.save()
    log.info("submission %s rejected: %s", submission.pk, reason)


def _gave_up_reason(submission: Submission) -> str:
    reason = f"verification did not complete in {submission.attempts} attempts"
    if submission.last_error:
        reason += f" (last error: {submission.last_error})"
    return reason


def claim(
    submission_id: int, *, worker: str, task_id: str, now: datetime | None = None
) -> Claim | None:
    """Take the submission into ``verifying`` for this task, or return None if there is
    nothing to do (final, held by another live task, unknown id, or out of attempts, in
    which case it is rejected here)."""
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update(of=("self",))
            .select_related("competition")
            .filter(pk=submission_id)
            .first()
        )
        if submission is None:
            log.warning("submission %s does not exist (deleted?); nothing to verify", submission_id)
            return None
        now = now or timezone.now()
        n = submission.competition.test_set_num_samples
        if submission.status in FINAL:
            log.info("submission %s is already %s; not verified again", submission_id,
                     submission.status)  # fmt: skip
            return None
        if submission.status == SubmissionStatus.VERIFYING:
            held_by_us = bool(task_id) and submission.verification_task_id == task_id
            started = submission.verification_started_at
            stale = started is None or started + stale_after(n) <= now
            if not (held_by_us or stale):
                log.info("submission %s is being verified by %s; duplicate ignored",
                         submission_id, submission.verification_worker)  # fmt: skip
                return None
            _append_log(
                submission,
                now,
                f"attempt {submission.attempts} on {submission.verification_worker or '?'} "
                "did not finish (worker lost); taken over",
            )
        if submission.attempts >= settings.VERIFIER_MAX_ATTEMPTS:
            _reject_locked(submission, now, _gave_up_reason(submission))
            return None
        submission.status = SubmissionStatus.VERIFYING
        submission.attempts += 1
        submission.verification_started_at = now
        submission.verification_finished_at = None
        submission.verification_worker = worker
        submission.verification_task_id = task_id
        _append_log(submission, now, f"attempt {submission.attempts} started on {worker}")
        submission.save()
        return Claim(submission.pk, submission.attempts, n)


# ------------------------------------------------------------------ step 2: check


@dataclass(frozen=True)
class Outcome:
    verified: bool
    proven_count: int | None = None
    reason: str = ""
    seconds: float = 0.0


class _Reject(Exception):
    """A reason to reject the submission, worded for the competitor."""


@lru_cache(maxsize=8)
def _test_set(name: str, digest: str) -> tuple[np.ndarray, np.ndarray]:
    """The stored canonical .npz of a competition (cached per worker process by file name
    and published digest: a replaced test set has a new digest). ``verify_accuracy`` checks
    it against the digest again, so a corrupted file is caught, not trusted."""
    with default_storage.open(name, "rb") as f:
        data = f.read()
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return np.array(arrays["x"]), np.array(arrays["y"])


# Exceptions from the proof system that mean "this proof is not accepted", with the words
# that introduce them in the rejection line (first match wins: subclasses first).
_REJECTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (VerificationError, "the proof does not verify"),
    (formats.FormatError, "the proof file is malformed"),
    (accuracy.TestSetError, "the competition's stored test set does not match its digest"),
    (accuracy.CommitmentError, "the stored commitment does not fit the competition"),
    (ValueError, "the proof or its stored context could not be decoded"),
    (struct.error, "the proof file is malformed"),
)


def _verify(submission: Submission) -> accuracy.VerificationReport:
    competition = submission.competition
    commitment = submission.commitment
    try:
        with submission.proof.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise _Reject("the stored proof file is missing") from None
    if hashlib.sha256(data).hexdigest() != submission.proof_sha256:
        raise _Reject("the stored proof file does not match the SHA-256 recorded at upload")
    proof_file = accuracy.AccuracyProof.from_bytes(data)
    if proof_file.claimed != submission.claimed_count:
        raise _Reject(
            f"the proof file claims {proof_file.claimed}, the submission {submission.claimed_count}"
        )
    spec = competition.spec()
    x, y = _test_set(competition.test_set_file.name, competition.test_set_digest)
    architecture, commitment_bytes = bytes(commitment.architecture), bytes(commitment.commitment)
    submitter = submission.competitor.uuid
    # A clear message for a file made for another context; the cryptographic check below
    # binds all of these anyway.
    proof_file.check_context(spec, submitter, architecture, commitment_bytes)
    report = accuracy.verify_accuracy(
        spec,
        x,
        y,
        bytes.fromhex(competition.test_set_salt),
        submitter,
        architecture,
        commitment_bytes,
        submission.claimed_count,
        proof_file.proof,
    )
    if not report.meets_threshold:
        raise _Reject(
            f"the proven count {report.correct} is below the threshold "
            f"({competition.required_correct} of {report.num_samples})"
        )
    return report


def check(submission_id: int) -> Outcome:
    """Verify the proof of a submission; no database writes, no locks held."""
    submission = Submission.objects.select_related(
        "competition", "commitment", "competitor"
    ).get(pk=submission_id)
    start = time.perf_counter()
    try:
        report = _verify(submission)
    except _Reject as exc:
        return Outcome(False, reason=str(exc), seconds=time.perf_counter() - start)
    except tuple(kind for kind, _ in _REJECTIONS) as exc:
        words = next(words for kind, words in _REJECTIONS if isinstance(exc, kind))
        return Outcome(False, reason=f"{words}: {exc}", seconds=time.perf_counter() - start)
    return Outcome(
        True,
        proven_count=report.correct,
        seconds=time.perf_counter() - start,
    )


# ------------------------------------------------------------------ step 3: record


def _locked_claim(c: Claim) -> Submission | None:
    """The submission under its row lock, if this claim still holds it."""
    submission = Submission.objects.select_for_update().filter(pk=c.submission_id).first()
    if (
        submission is None
        or submission.status != SubmissionStatus.VERIFYING
        or submission.attempts != c.attempt
    ):
        log.warning("submission %s: attempt %s was superseded; its outcome is dropped",
                    c.submission_id, c.attempt)  # fmt: skip
        return None
    return submission


def record(c: Claim, outcome: Outcome, *, worker: str, now: datetime | None = None) -> bool:
    """Write the outcome if the claim still holds; True when written."""
    with transaction.atomic():
        submission = _locked_claim(c)
        if submission is None:
            return False
        now = now or timezone.now()
        submission.verification_seconds = outcome.seconds
        submission.verification_worker = worker
        submission.last_error = ""
        if outcome.verified:
            submission.status = SubmissionStatus.VERIFIED
            submission.proven_count = outcome.proven_count
            submission.verification_finished_at = now
            _append_log(
                submission,
                now,
                f"verified on {worker}: {outcome.proven_count} of {c.num_samples} correct "
                f"({outcome.seconds:.2f} s)",
            )
            submission.save()
            log.info("submission %s verified (c=%s)", submission.pk, outcome.proven_count)
        else:
            _reject_locked(submission, now, outcome.reason)
    return True


def release(c: Claim, *, error: str, now: datetime | None = None) -> bool:
    """Give the claim back after an attempt that could not finish (time limit, crash):
    ``queued`` again with the error noted, or rejected when out of attempts. True when the
    submission is queued again (the caller re-sends it)."""
    with transaction.atomic():
        submission = _locked_claim(c)
        if submission is None:
            return False
        now = now or timezone.now()
        submission.last_error = error[:2000]
        if submission.attempts >= settings.VERIFIER_MAX_ATTEMPTS:
            _reject_locked(submission, now, _gave_up_reason(submission))
            return False
        submission.status = SubmissionStatus.QUEUED
        submission.verification_task_id = ""
        _append_log(submission, now, f"attempt {c.attempt} failed ({error}); queued again")
        submission.save()
        return True


def note_error(c: Claim, exc: BaseException) -> None:
    """Keep an unexpected error on the row (best effort: the database may be the problem),
    for the reason line if the sweep finally gives up."""
    try:
        Submission.objects.filter(
            pk=c.submission_id, status=SubmissionStatus.VERIFYING, attempts=c.attempt
        ).update(last_error=_first_line(exc)[:2000])
    except Exception:  # noqa: BLE001 - the original error is what gets raised
        log.exception("could not note the error of submission %s", c.submission_id)


# ------------------------------------------------------------------ the whole run


def _test_delay() -> None:
    # Test-only slow path (test_settings.py, ZKARENA_TEST_VERIFY_DELAY): keeps the
    # verification observably in progress so a test can kill the worker in the middle.
    delay = getattr(settings, "VERIFIER_TEST_DELAY_SECONDS", 0)
    if delay:
        time.sleep(delay)


def verify_submission(submission_id: int, *, worker: str, task_id: str) -> str:
    """Claim, check, record. Returns what happened: ``verified``, ``rejected``, ``skipped``
    (nothing to do, or the outcome was superseded) or ``released`` (queued again after a
    soft time limit: the caller re-sends it)."""
    c = claim(submission_id, worker=worker, task_id=task_id)
    if c is None:
        return "skipped"
    try:
        _test_delay()
        outcome = check(submission_id)
    except SoftTimeLimitExceeded:
        soft, _ = time_limits(c.num_samples)
        queued = release(c, error=f"exceeded the time limit of {soft} s")
        return "released" if queued else "rejected"
    except BaseException as exc:
        # Transient (retried by the task) or unexpected (the sweep retries it later): the
        # claim stays, and the error is kept for the reason line.
        note_error(c, exc)
        raise
    if not record(c, outcome, worker=worker):
        return "skipped"
    return "verified" if outcome.verified else "rejected"


# ------------------------------------------------------------------ the sweep


@dataclass
class SweepResult:
    resend: list[tuple[int, int | None]] = field(default_factory=list)  # (id, N)
    requeued: list[int] = field(default_factory=list)  # verifying → queued
    rejected: list[int] = field(default_factory=list)


def sweep(now: datetime | None = None) -> SweepResult:
    """Find unfinished submissions that nobody is working on: claims past their stale time
    go back to ``queued`` (or are rejected when out of attempts); queued submissions
    untouched for VERIFIER_QUEUED_TIMEOUT are sent again. Returns what the caller must send
    (after this transaction committed)."""
    now = now or timezone.now()
    result = SweepResult()
    with transaction.atomic():
        # skip_locked: a row locked right now is being claimed or recorded, not stuck.
        verifying = (
            Submission.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=SubmissionStatus.VERIFYING)
            .select_related("competition")
            .order_by("id")
        )
        for submission in verifying:
            n = submission.competition.test_set_num_samples
            started = submission.verification_started_at
            if started is not None and started + stale_after(n) > now:
                continue
            submission.last_error = submission.last_error or "worker lost or hard time limit"
            if submission.attempts >= settings.VERIFIER_MAX_ATTEMPTS:
                _reject_locked(submission, now, _gave_up_reason(submission))
                result.rejected.append(submission.pk)
                continue
            submission.status = SubmissionStatus.QUEUED
            submission.verification_task_id = ""
            _append_log(
                submission,
                now,
                f"attempt {submission.attempts} on {submission.verification_worker or '?'} "
                "did not finish in time (worker lost?); queued again by the sweep",
            )
            submission.save()
            result.requeued.append(submission.pk)
            result.resend.append((submission.pk, n))

        cutoff = now - timedelta(seconds=settings.VERIFIER_QUEUED_TIMEOUT)
        lost = list(
            Submission.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=SubmissionStatus.QUEUED, updated_at__lt=cutoff)
            .values_list("id", "competition__test_set_num_samples")
            .order_by("id")
        )
        if lost:
            # Touching updated_at restarts the timeout: one re-send per period, not per sweep.
            Submission.objects.filter(pk__in=[pk for pk, _ in lost]).update(updated_at=now)
            result.resend.extend(lost)
    if result.resend or result.rejected:
        log.info("sweep: %d re-sent (%d stale claims), %d rejected", len(result.resend),
                 len(result.requeued), len(result.rejected))  # fmt: skip
    return result
