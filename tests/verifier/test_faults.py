"""Verification under faults, with real workers on PostgreSQL and on each broker.

Faults are real and deterministic: a worker started with ZKARENA_TEST_FAULTS (read only by
test_settings.py) terminates its own PostgreSQL backend (``drop_db``) or SIGKILLs its own
pool process (``kill``) right after claiming a submission that has had k platform faults,
for the k-th entry of the list. An outcome is the proof's: the platform's faults are
counted apart (``infra_failures``), never reject, and after the budget park the
submission in ``error``, from which a staff re-queue verifies it.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import override_settings

from competitions.models import Submission, SubmissionStatus
from competitions.selectors import leaderboard
from tests.competitions.helpers import GOOD_CORRECT
from verifier import selectors

from .conftest import forged, wait_for, wait_for_final
from .worker import new_queue_name, purge_queue, running_worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("needs_postgresql"),
]

Status = SubmissionStatus
# Short leases, a fast sweep and backoff so that recovery takes seconds, not minutes.
FAST = {
    "VERIFIER_LEASE_SECONDS": "2",
    "VERIFIER_SWEEP_INTERVAL": "0.5",
    "VERIFIER_HEARTBEAT_INTERVAL": "0.5",
    "VERIFIER_INFRA_BACKOFF_BASE": "0.2",
    "VERIFIER_INFRA_BACKOFF_MAX": "1",
}


def _lines(submission: Submission, words: str) -> list[str]:
    return [line for line in submission.verification_log.splitlines() if words in line]


def test_valid_proof_survives_three_dropped_connections_and_three_deaths(arena, broker):
    alice = arena.enter("alice")
    proof = alice.proof(arena.competition)
    faults = {**FAST, "ZKARENA_TEST_FAULTS": "drop_db,drop_db,drop_db,kill,kill,kill"}
    with running_worker(env=faults, concurrency=1):
        submission = arena.submit(alice, proof)
        wait_for_final([submission.pk], timeout=50)

    submission.refresh_from_db()
    log = submission.verification_log
    assert submission.status == Status.VERIFIED, log
    assert submission.proven_count == GOOD_CORRECT
    assert (submission.infra_failures, submission.attempts) == (6, 7), log
    assert len(_lines(submission, "delayed by the platform: database: ")) == 3, log
    assert len(_lines(submission, "delayed by the platform: worker lost")) == 3, log
    assert len(_lines(submission, "verified on")) == 1 and not _lines(submission, "rejected")
    [row] = leaderboard(arena.competition)
    assert row.submission_id == submission.pk


def test_forged_proof_is_rejected_for_its_reason_however_often_workers_die(arena, broker):
    alice = arena.enter("alice")
    bad = forged(alice.proof(arena.competition, claimed=GOOD_CORRECT - 1), GOOD_CORRECT)
    with running_worker(env={**FAST, "ZKARENA_TEST_FAULTS": "kill,kill,kill,kill"}):
        submission = arena.submit(alice, bad)
        wait_for_final([submission.pk], timeout=50)

    submission.refresh_from_db()
    log = submission.verification_log
    assert submission.status == Status.REJECTED and submission.infra_failures == 4, log
    [reason] = _lines(submission, "rejected: ")
    assert "the proof does not verify" in reason
    assert leaderboard(arena.competition) == []


def test_budget_parks_in_error_visible_in_health_and_a_requeue_verifies(arena, broker):
    alice = arena.enter("alice")
    proof = alice.proof(arena.competition)
    queue = new_queue_name()
    broken = {**FAST, "VERIFIER_INFRA_BUDGET": "3", "ZKARENA_TEST_FAULTS": "drop_db*"}
    try:
        with running_worker(queue=queue, env=broken):
            submission = arena.submit(alice, proof)
            wait_for(
                lambda: Submission.objects.filter(pk=submission.pk, status=Status.ERROR)
                .exists(),
                timeout=40,
                what="the submission parked in error after 3 platform faults",
            )
        submission.refresh_from_db()
        assert submission.infra_failures == 3 and not _lines(submission, "rejected")

        out = io.StringIO()
        call_command("verifier_health", "--json", stdout=out)
        report = json.loads(out.getvalue())
        assert report["error"] == 1
        assert [e["id"] for e in report["parked"]] == [submission.pk]
        assert "database" in report["parked"][0]["last_error"]

        with running_worker(queue=queue, env=FAST) as worker:
            out = io.StringIO()
            call_command("verifier_requeue", str(submission.pk), stdout=out)
            assert f"queued again: {submission.pk}" in out.getvalue()
            wait_for_final([submission.pk], timeout=40)
            # The live worker is in health by its heartbeat; the broker answers per queue.
            report = selectors.health()
            [me] = [w for w in report["workers"] if w["worker"].startswith(worker.name)]
            assert me["alive"] and me["queues"] == f"{queue}.recovery,{queue}"
            assert all(q["messages"] is not None for q in report["broker"]["queues"])
            assert report["error"] == 0
    finally:
        purge_queue(queue)

    submission.refresh_from_db()
    assert submission.status == Status.VERIFIED and submission.proven_count == GOOD_CORRECT
    assert _lines(submission, "queued again by staff")


BACKLOG = 16


def test_recovery_jumps_the_backlog_and_a_sweep_duplicates_nothing(arena, broker):
    """A backlog of queued submissions and one claim whose worker died (its lease ran
    out). A manual sweep during the backlog re-sends only the dead claim (to the recovery
    queue), none of the queued ones, even though their messages are older than
    VERIFIER_QUEUED_TIMEOUT: nothing proves them lost. A worker then serves the recovered
    one before most of the backlog (order of starts, not wall-clock time)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from verifier import services

    entries = [arena.enter(f"racer{i}") for i in range(2)]
    proofs = [e.proof(arena.competition, claimed=c) for e in entries for c in range(15, 19)]
    owners = [e for e in entries for _ in range(15, 19)]
    queue = new_queue_name()
    try:
        # Queued through the hand-off with no worker yet: a real backlog in the broker.
        with override_settings(VERIFIER_ENQUEUE=True, VERIFIER_QUEUE=queue,
                               VERIFIER_RECOVERY_QUEUE=f"{queue}.recovery",
                               VERIFIER_LARGE_QUEUE=f"{queue}-large"):  # fmt: skip
            backlog = [arena.submit(owner, p) for owner, p in zip(owners, proofs, strict=True)]
            backlog += [arena.submit(e, forged(e.proof(arena.competition, claimed=15), c))
                        for e in entries for c in (16, 17, 18, 19)]  # fmt: skip
            assert len(backlog) == BACKLOG
            dead = backlog.pop(0)
            long_ago = timezone.now() - timedelta(seconds=settings.VERIFIER_QUEUED_TIMEOUT + 5)
            Submission.objects.filter(pk__in=[s.pk for s in backlog]).update(
                dispatched_at=long_ago
            )
            claim = services.claim(dead.pk, worker="gone@host", task_id="t-dead", now=long_ago)
            assert claim is not None

            out = io.StringIO()
            call_command("verifier_sweep", stdout=out)
            assert "1 taken over from dead workers, 0 lost messages" in out.getvalue()
            depth = {q["queue"]: q["messages"] for q in selectors.health()["broker"]["queues"]}
            # The backlog's messages and the dead one's first (now superseded: a no-op) in
            # the verification queue, its re-send in the recovery queue; nothing twice.
            assert depth == {f"{queue}.recovery": 1, queue: BACKLOG, f"{queue}-large": 0}

        slow = {**FAST, "ZKARENA_TEST_VERIFY_DELAY": "0.3"}
        with running_worker(queue=queue, env=slow):
            wait_for_final([dead.pk] + [s.pk for s in backlog], timeout=50)
    finally:
        purge_queue(queue)

    dead.refresh_from_db()
    assert dead.status == Status.VERIFIED and dead.infra_failures == 1
    started_before = Submission.objects.filter(
        pk__in=[s.pk for s in backlog], verification_started_at__lt=dead.verification_started_at
    ).count()
    assert started_before <= 3, f"{started_before} backlog submissions went first"
    assert all(s.attempts == 1 for s in Submission.objects.filter(pk__in=[b.pk for b in backlog]))


def test_the_platforms_time_limit_parks_never_rejects(arena):
    """A real soft time limit: Celery raises SoftTimeLimitExceeded in the task (the
    test-only delay outlasts a 1-second limit); that is the platform's limit, so it is
    retried, then parked in `error` with its reason, never rejected."""
    alice = arena.enter("alice")
    proof = alice.proof(arena.competition)
    limits = {
        **FAST,
        "VERIFIER_INFRA_BUDGET": "2",
        "VERIFIER_SOFT_LIMIT_BASE": "1",
        "VERIFIER_SOFT_LIMIT_PER_SAMPLE": "0",
        "VERIFIER_HARD_LIMIT_GRACE": "10",
        "ZKARENA_TEST_VERIFY_DELAY": "5",
    }
    with running_worker(env=limits), override_settings(
        VERIFIER_SOFT_LIMIT_BASE=1, VERIFIER_SOFT_LIMIT_PER_SAMPLE=0, VERIFIER_HARD_LIMIT_GRACE=10
    ):  # the sender computes the limits that travel with the message
        submission = arena.submit(alice, proof)
        wait_for(
            lambda: Submission.objects.filter(pk=submission.pk, status=Status.ERROR).exists(),
            timeout=40,
            what="the submission parked in error after 2 time limits",
        )
    submission.refresh_from_db()
    assert submission.infra_failures == 2 and submission.attempts == 2
    assert len(_lines(submission, "delayed by the platform: time limit")) == 2
    assert not _lines(submission, "rejected")


def test_a_live_verification_longer_than_its_lease_keeps_its_claim(arena):
    """The lease is renewed while the proof is checked: a 4-second verification under a
    1-second lease, with the sweep running every half second, is never taken over."""
    alice = arena.enter("alice")
    proof = alice.proof(arena.competition)
    env = {**FAST, "VERIFIER_LEASE_SECONDS": "1", "ZKARENA_TEST_VERIFY_DELAY": "4"}
    with running_worker(env=env):
        submission = arena.submit(alice, proof)
        wait_for_final([submission.pk], timeout=40)
    submission.refresh_from_db()
    assert submission.status == Status.VERIFIED, submission.verification_log
    assert (submission.attempts, submission.infra_failures) == (1, 0), submission.verification_log
