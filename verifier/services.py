"""Verification of submissions: the only code that writes the verifier's fields.

An outcome is the proof's: only the proof library's "invalid proof / invalid input" errors
(``zkproofs.errors.ProofError`` and ``InvalidInputError``, see ``_REJECTIONS``) reject.
Everything else (a lost worker, the database, the broker, storage, a time limit) is the
platform's fault: counted in ``infra_failures`` (never in the verdict), retried with
backoff, and after ``VERIFIER_INFRA_BUDGET`` of them parked in ``error`` for staff, who
re-queue it (``requeue``). The competitor reads "delayed by the platform".

A verification runs in three steps, so that no database lock is held while the proof is
checked (which takes from a fraction of a second to minutes):

1. ``claim``: under ``SELECT … FOR UPDATE``, ``queued → verifying`` with ``attempts + 1``,
   the Celery task id as the holder and a lease (``lease_expires_at``) that the worker
   renews every LEASE/3 s while it works (``LeaseKeeper``). A final or parked submission is
   never claimed; a message whose dispatch token was superseded by a re-send is a no-op; a
   claim whose lease is alive is left alone (a duplicate). A claim is taken over (one
   platform fault) when its lease expired or the same task id comes back (the broker
   redelivered the message of a pool process that died).
2. ``check``: outside any transaction, the proof is verified against
   what the platform stored: the competition's test set and salt, the architecture and
   commitment bytes of the ``ModelCommitment`` record. The submitter contributes only the
   proof file.
3. ``record``: under the row lock again, the outcome is written only if this claim still
   holds (same attempt number), so an outcome is recorded exactly once.

``sweep`` (every worker's supervisor thread, one at a time) takes over claims whose lease
ran out and re-sends them to the recovery queue at once; it re-sends a ``queued``
submission only when its message is provably lost, with a new dispatch token, so a
re-send never duplicates work that is still queued.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from competitions.models import Submission, SubmissionStatus
from zkproofs import accuracy
from zkproofs.errors import FormatError, InvalidInputError, ProofError, VerificationError

from . import routing

log = logging.getLogger(__name__)

FINAL = (SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED)
UNFINISHED = (SubmissionStatus.QUEUED, SubmissionStatus.VERIFYING)


class PlatformFault(Exception):
    """The platform could not verify the proof this time (storage, a time limit, …): not a
    verdict; retried, and counted in ``infra_failures``."""


# ------------------------------------------------------------------ limits


def time_limits(num_samples: int | None) -> tuple[int, int]:
    """(soft, hard) seconds for verifying a proof over ``num_samples`` test samples."""
    soft = settings.VERIFIER_SOFT_LIMIT_BASE + settings.VERIFIER_SOFT_LIMIT_PER_SAMPLE * (
        num_samples or 0
    )
    soft = max(1, min(math.ceil(soft), settings.VERIFIER_SOFT_LIMIT_MAX))
    return soft, soft + settings.VERIFIER_HARD_LIMIT_GRACE


def lease_until(now: datetime) -> datetime:
    """When a claim renewed now stops being alive."""
    return now + timedelta(seconds=settings.VERIFIER_LEASE_SECONDS)


def backoff(failures: int) -> float:
    """Seconds before the next try after the ``failures``-th platform fault."""
    base, top = settings.VERIFIER_INFRA_BACKOFF_BASE, settings.VERIFIER_INFRA_BACKOFF_MAX
    return float(min(top, base * 2 ** max(0, failures - 1)))


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


# ------------------------------------------------------------------ dispatch


# Dispatch token prefixes, one per queue: verification (small), verification-large, recovery.
MAIN, LARGE, RECOVERY = "v", "l", "r"


@dataclass(frozen=True)
class Dispatch:
    """A message to send (after the transaction that wrote its token committed)."""

    submission_id: int
    num_samples: int | None
    token: str
    countdown: float = 0.0
    recovery: bool = False
    queue: str = ""  # the broker queue the message goes to


def _dispatch_locked(
    submission: Submission, now: datetime, *, countdown: float = 0.0, recovery: bool = False
) -> Dispatch:
    """Give the (queued, locked) row a new dispatch token: the message about to be sent is
    the only one that may start it; any earlier message becomes a no-op."""
    # The first letter names the queue (FIFO is per queue: see sweep). Recovery has its own
    # queue; first sends go to the small or the large queue by expected cost (routing).
    if recovery:
        kind, queue = RECOVERY, settings.VERIFIER_RECOVERY_QUEUE
    else:
        queue = routing.queue_for(submission.pk)
        kind = LARGE if queue != settings.VERIFIER_QUEUE else MAIN
    submission.dispatch_token = kind + uuid.uuid4().hex
    submission.dispatched_at = now + timedelta(seconds=countdown)
    return Dispatch(
        submission.pk,
        submission.competition.test_set_num_samples,
        submission.dispatch_token,
        countdown,
        recovery,
        queue,
    )


def dispatch(
    submission_id: int,
    *,
    now: datetime | None = None,
    countdown: float = 0.0,
    recovery: bool = False,
) -> Dispatch | None:
    """A new token for a queued submission (None if it is not queued)."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update(of=("self",))
            .select_related("competition")
            .filter(pk=submission_id, status=SubmissionStatus.QUEUED)
            .first()
        )
        if submission is None:
            return None
        d = _dispatch_locked(submission, now, countdown=countdown, recovery=recovery)
        Submission.objects.filter(pk=submission.pk).update(
            dispatch_token=submission.dispatch_token, dispatched_at=submission.dispatched_at
        )
        return d


# ------------------------------------------------------------------ step 1: claim


@dataclass(frozen=True)
class Claim:
    submission_id: int
    attempt: int
    num_samples: int | None
    infra_failures: int = 0


def _reject_locked(submission: Submission, now: datetime, reason: str) -> None:
    submission.status = SubmissionStatus.REJECTED
    submission.verification_finished_at = now
    submission.lease_expires_at = None
    _append_log(submission, now, f"rejected: {reason}")
    submission.save()
    log.info("submission %s rejected: %s", submission.pk, reason)


def _platform_fault_locked(submission: Submission, now: datetime, error: str) -> Dispatch | None:
    """Count one platform fault on the locked row: ``queued`` again with a dispatch to the
    recovery queue (at once after a lost worker, after the backoff otherwise), or parked in
    ``error`` once the budget is spent."""
    submission.infra_failures += 1
    submission.last_error = error[:2000]
    submission.verification_task_id = ""
    submission.lease_expires_at = None
    budget = settings.VERIFIER_INFRA_BUDGET
    if submission.infra_failures >= budget:
        submission.status = SubmissionStatus.ERROR
        submission.verification_finished_at = now
        _append_log(
            submission,
            now,
            f"delayed by the platform: {error}; {submission.infra_failures} platform "
            "faults, parked for the site's staff (the proof itself was not judged)",
        )
        submission.save()
        log.error("submission %s parked in error after %d platform faults: %s",
                  submission.pk, submission.infra_failures, error)  # fmt: skip
        return None
    delay = 0.0 if error.startswith("worker lost") else backoff(submission.infra_failures)
    submission.status = SubmissionStatus.QUEUED
    d = _dispatch_locked(submission, now, countdown=delay, recovery=True)
    _append_log(
        submission,
        now,
        f"delayed by the platform: {error}; retry {submission.infra_failures} of "
        f"{budget - 1} in {delay:.0f} s",
    )
    submission.save()
    log.warning("submission %s: platform fault %d (%s); retrying in %.1f s",
                submission.pk, submission.infra_failures, error, delay)  # fmt: skip
    return d


def claim(
    submission_id: int,
    *,
    worker: str,
    task_id: str,
    token: str = "",
    now: datetime | None = None,
) -> Claim | None:
    """Take the submission into ``verifying`` for this task, or return None if there is
    nothing to do: final or parked, held by another live claim, a superseded message
    (``token`` differs from the row's), an unknown id, or a takeover that spent the
    platform's budget (then it is parked in ``error`` here)."""
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
        if submission.status not in UNFINISHED:
            log.info("submission %s is %s; not verified again", submission_id,
                     submission.status)  # fmt: skip
            return None
        if submission.status == SubmissionStatus.QUEUED:
            if token and submission.dispatch_token and token != submission.dispatch_token:
                log.info("submission %s: message superseded by a re-send; ignored", submission_id)
                return None
        else:  # verifying
            held_by_us = bool(task_id) and submission.verification_task_id == task_id
            lease = submission.lease_expires_at
            expired = lease is None or lease <= now
            if not (held_by_us or expired):
                log.info("submission %s is being verified by %s; duplicate ignored",
                         submission_id, submission.verification_worker)  # fmt: skip
                return None
            # The holder died (its message came back, or its lease ran out): a platform
            # fault, never a verdict.
            who = submission.verification_worker or "?"
            parked = _platform_fault_locked(
                submission, now, f"worker lost: attempt {submission.attempts} on {who} "
                "did not finish; taken over"
            ) is None
            if parked:
                return None
        submission.status = SubmissionStatus.VERIFYING
        submission.attempts += 1
        submission.verification_started_at = now
        submission.verification_finished_at = None
        submission.verification_worker = worker
        submission.verification_task_id = task_id
        submission.lease_expires_at = lease_until(now)
        _append_log(submission, now, f"attempt {submission.attempts} started on {worker}")
        submission.save()
        return Claim(submission.pk, submission.attempts, n, submission.infra_failures)


class LeaseKeeper:
    """Renews the claim's lease every LEASE/3 s from a thread with its own database
    connection while the proof is checked; stops when the claim no longer holds."""

    def __init__(self, c: Claim):
        self.claim = c
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        c, interval = self.claim, settings.VERIFIER_LEASE_SECONDS / 3
        try:
            while not self._stop.wait(interval):
                try:
                    held = Submission.objects.filter(
                        pk=c.submission_id, status=SubmissionStatus.VERIFYING, attempts=c.attempt
                    ).update(lease_expires_at=lease_until(timezone.now()))
                except DatabaseError:
                    log.warning("submission %s: lease not renewed (database error)",
                                c.submission_id, exc_info=True)  # fmt: skip
                    _close_connection()
                    continue
                if not held:
                    return
        finally:
            _close_connection()


def _close_connection() -> None:
    """Drop this thread's database connection (perhaps broken): the next query opens a
    fresh one. Inside a transaction that a caller owns (a test's) there is nothing to do."""
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone
        log.debug("closing a broken database connection", exc_info=True)


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


# The proof library's verdicts, with the words that introduce them in the rejection line
# (first match wins: subclasses first). Nothing else rejects: zkproofs/errors.py says any
# other exception (a bare ValueError, MemoryError, OSError) is a fault, not a verdict. A
# stored test set that no longer matches its digest is the platform's storage failing.
_REJECTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (VerificationError, "the proof does not verify"),
    (FormatError, "the proof file is malformed"),
    (accuracy.CommitmentError, "the stored commitment does not fit the competition"),
    (ProofError, "the proof does not verify"),
    (InvalidInputError, "the proof does not fit its statement"),
)
_PLATFORM_FAULTS: tuple[type[BaseException], ...] = (accuracy.TestSetError,)


def _verify(submission: Submission) -> accuracy.VerificationReport:
    competition = submission.competition
    commitment = submission.commitment
    try:
        with submission.proof.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise PlatformFault("storage: the stored proof file is missing") from None
    if hashlib.sha256(data).hexdigest() != submission.proof_sha256:
        raise PlatformFault("storage: the stored proof file does not match its upload SHA-256")
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
    except _PLATFORM_FAULTS as exc:
        raise PlatformFault(f"storage: {exc}") from exc
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
        submission.lease_expires_at = None
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


def platform_fault(c: Claim, error: str, *, now: datetime | None = None) -> Dispatch | None:
    """The attempt of claim ``c`` ended without a verdict because of the platform: count it
    (``queued`` again with a dispatch to send after the backoff, or parked in ``error``).
    Runs on a fresh database connection, retried a few times: the fault may have been the
    connection itself. None when nothing is to be sent (parked, superseded, or the database
    stayed unreachable: then the claim's lease runs out and the sweep takes it over)."""
    for pause in (0.0, 0.5, 2.0):
        time.sleep(pause)
        _close_connection()
        try:
            with transaction.atomic():
                submission = _locked_claim(c)
                if submission is None:
                    return None
                submission.competition  # noqa: B018 - loads it under the same connection
                return _platform_fault_locked(submission, now or timezone.now(), error)
        except DatabaseError:
            log.warning("submission %s: could not record a platform fault", c.submission_id,
                        exc_info=True)  # fmt: skip
    return None


def describe_fault(exc: BaseException) -> str:
    if isinstance(exc, PlatformFault):
        return str(exc)
    if isinstance(exc, DatabaseError):
        return f"database: {_first_line(exc)}"
    if isinstance(exc, SoftTimeLimitExceeded):
        return "time limit exceeded"
    if isinstance(exc, MemoryError):
        return "out of memory"
    return _first_line(exc)


# ------------------------------------------------------------------ test-only faults


def _test_faults(c: Claim) -> None:
    """Deterministic fault injection, honoured only where test_settings.py defines
    VERIFIER_TEST_FAULTS (from ZKARENA_TEST_FAULTS in the worker's environment): a comma
    list whose k-th entry strikes right after the claim of a submission that has had k
    platform faults so far; ``drop_db`` terminates this process's own PostgreSQL backend
    (a real dropped connection), ``kill`` SIGKILLs this pool process (a real dead worker),
    ``-`` does nothing; a last entry ending in ``*`` strikes every time from there on."""
    spec = getattr(settings, "VERIFIER_TEST_FAULTS", "")
    if not spec:
        return
    faults = spec.split(",")
    k = c.infra_failures
    if k < len(faults):
        fault = faults[k]
    elif faults[-1].endswith("*"):
        fault = faults[-1]
    else:
        return
    fault = fault.rstrip("*")
    if fault == "drop_db":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    elif fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)


def _test_delay() -> None:
    # Test-only slow path (test_settings.py, ZKARENA_TEST_VERIFY_DELAY): keeps the
    # verification observably in progress so a test can kill the worker in the middle.
    delay = getattr(settings, "VERIFIER_TEST_DELAY_SECONDS", 0)
    if delay:
        time.sleep(delay)


# ------------------------------------------------------------------ the whole run


@dataclass(frozen=True)
class Result:
    """What a run did: ``verified``, ``rejected``, ``skipped`` (nothing to do, or the
    outcome was superseded), ``retry`` (a platform fault; ``resend`` to be sent) or
    ``parked`` (a platform fault that spent the budget, or one not recordable now)."""

    status: str
    resend: Dispatch | None = None


def _claim_fresh(submission_id: int, **kwargs) -> Claim | None:
    """``claim`` on a fresh connection if the first try meets a broken one."""
    for pause in (0.0, 0.5):
        try:
            return claim(submission_id, **kwargs)
        except DatabaseError:
            log.warning("submission %s: claim failed on a database error; retrying on a "
                        "fresh connection", submission_id, exc_info=True)  # fmt: skip
            _close_connection()
            time.sleep(pause)
    return claim(submission_id, **kwargs)


def verify_submission(
    submission_id: int, *, worker: str, task_id: str, token: str = ""
) -> Result:
    """Claim, check, record. A failure that is not a verdict is a platform fault: the
    submission is queued again (``Result.resend`` to send) or parked in ``error``."""
    c = _claim_fresh(submission_id, worker=worker, task_id=task_id, token=token)
    if c is None:
        return Result("skipped")
    try:
        with LeaseKeeper(c):
            _test_faults(c)
            _test_delay()
            outcome = check(submission_id)
        written = record(c, outcome, worker=worker)
    except SoftTimeLimitExceeded:
        soft, _ = time_limits(c.num_samples)
        error = f"time limit: exceeded the platform's limit of {soft} s"
    except Exception as exc:  # noqa: BLE001 - anything but a verdict is the platform's
        log.warning("submission %s: attempt %s failed: %s", submission_id, c.attempt,
                    _first_line(exc), exc_info=not isinstance(exc, PlatformFault))  # fmt: skip
        error = describe_fault(exc)
    else:
        if not written:
            return Result("skipped")
        return Result("verified" if outcome.verified else "rejected")
    resend = platform_fault(c, error)
    return Result("retry" if resend else "parked", resend)


# ------------------------------------------------------------------ the sweep


@dataclass
class SweepResult:
    resend: list[Dispatch] = field(default_factory=list)
    taken_over: list[int] = field(default_factory=list)  # lease expired → queued
    parked: list[int] = field(default_factory=list)  # out of budget → error
    lost: list[int] = field(default_factory=list)  # queued, message provably lost


def sweep(now: datetime | None = None, *, queues_empty: bool = False) -> SweepResult:
    """Take over claims whose lease ran out (queued again, re-sent at once to the recovery
    queue, or parked when out of budget), and re-send queued submissions whose message is
    provably lost: due more than VERIFIER_QUEUED_TIMEOUT ago (or never sent) and either
    ``queues_empty`` (the broker holds no message for the verifier: the caller asked it) or
    a message sent after it has already been started. Returns what the caller must send
    once this transaction has committed."""
    now = now or timezone.now()
    result = SweepResult()
    with transaction.atomic():
        # FIFO per queue: once a message sent to a queue later than a queued row's message
        # has been started, the row's would have been too, had it still been in that queue
        # (looked up before this sweep re-dispatches anything).
        passed = {
            kind: Submission.objects.filter(
                dispatch_token__startswith=kind,
                dispatched_at__isnull=False,
                verification_started_at__isnull=False,
                verification_started_at__gte=F("dispatched_at"),
            )
            .order_by("-dispatched_at")
            .values_list("dispatched_at", flat=True)
            .first()
            for kind in (MAIN, LARGE, RECOVERY)
        }
        # skip_locked: a row locked right now is being claimed or recorded, not stuck.
        dead = (
            Submission.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=SubmissionStatus.VERIFYING)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
            .select_related("competition")
            .order_by("id")
        )
        for submission in dead:
            who = submission.verification_worker or "?"
            d = _platform_fault_locked(
                submission, now, f"worker lost: attempt {submission.attempts} on {who} "
                "stopped renewing its lease; taken over by the sweep"
            )
            if d is None:
                result.parked.append(submission.pk)
            else:
                result.resend.append(d)
                result.taken_over.append(submission.pk)

        cutoff = now - timedelta(seconds=settings.VERIFIER_QUEUED_TIMEOUT)
        queued = Submission.objects.filter(status=SubmissionStatus.QUEUED)
        # Never dispatched (the hand-off failed before its token was written): no message.
        lost = Q(dispatched_at__isnull=True, updated_at__lt=cutoff)
        if queues_empty:
            lost |= Q(dispatched_at__lt=cutoff)
        else:
            for kind, moved_past in passed.items():
                if moved_past is not None:
                    lost |= Q(dispatch_token__startswith=kind,
                              dispatched_at__lt=min(cutoff, moved_past))  # fmt: skip
        overdue = queued.filter(lost)
        for submission in (
            overdue.select_for_update(skip_locked=True, of=("self",))
            .select_related("competition")
            .order_by("id")
        ):
            d = _dispatch_locked(submission, now)
            _append_log(submission, now, "its message was lost; sent again by the sweep")
            submission.save()
            result.resend.append(d)
            result.lost.append(submission.pk)
    if result.resend or result.parked:
        log.info("sweep: %d taken over, %d lost messages re-sent, %d parked in error",
                 len(result.taken_over), len(result.lost), len(result.parked))  # fmt: skip
    return result


# ------------------------------------------------------------------ staff


def requeue(submission_ids, *, by: str, now: datetime | None = None) -> list[Dispatch]:
    """Staff put parked (``error``) submissions back in the queue with a fresh platform
    budget; anything else is left alone. Returns the dispatches to send after commit."""
    now = now or timezone.now()
    out = []
    with transaction.atomic():
        rows = (
            Submission.objects.select_for_update(of=("self",))
            .filter(pk__in=list(submission_ids), status=SubmissionStatus.ERROR)
            .select_related("competition")
            .order_by("id")
        )
        for submission in rows:
            submission.status = SubmissionStatus.QUEUED
            submission.infra_failures = 0
            submission.verification_finished_at = None
            out.append(_dispatch_locked(submission, now, recovery=True))
            _append_log(submission, now, f"queued again by {by}")
            submission.save()
    return out
