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
