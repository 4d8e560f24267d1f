"""The verification service in this process (no worker): outcomes and reason lines, the
claim rules that make it idempotent, the sweep, time limits, the task's retry policy, the
hand-off receiver and the health report."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from unittest import mock

import numpy as np
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from competitions.models import Submission, SubmissionStatus, User
from competitions.selectors import leaderboard
from competitions.services import submissions as submission_service
from tests.competitions.helpers import GOOD_CORRECT, NUM_SAMPLES, sample_arrays, upload
from verifier import services, tasks

from .conftest import AFTER, forged

pytestmark = pytest.mark.django_db

Status = SubmissionStatus


def _run(pk: int, worker: str = "w1@test", task_id: str = "task-1") -> str:
    return services.verify_submission(pk, worker=worker, task_id=task_id)


def test_valid_proof_is_verified_once_and_ranked(arena):
    alice = arena.enter("alice")
    submission = arena.submit(alice, alice.proof(arena.competition))
    assert leaderboard(arena.competition) == []

    assert _run(submission.pk) == "verified"
    submission.refresh_from_db()
    assert submission.status == Status.VERIFIED
    assert submission.proven_count == GOOD_CORRECT == submission.claimed_count
    assert submission.attempts == 1 and submission.verification_worker == "w1@test"
    assert submission.verification_seconds > 0 and submission.verification_finished_at
    assert f"verified on w1@test: {GOOD_CORRECT} of {NUM_SAMPLES} correct" in (
        submission.verification_log
    )
    [row] = leaderboard(arena.competition)
    assert (row.submission_id, row.claimed_count) == (submission.pk, GOOD_CORRECT)

    # Sent again (another task, or the same one redelivered): never verified twice.
    log_before = submission.verification_log
    assert _run(submission.pk, task_id="task-2") == "skipped"
    assert _run(submission.pk, task_id="task-1") == "skipped"
    submission.refresh_from_db()
    assert submission.attempts == 1 and submission.verification_log == log_before


def _corrupt_test_set(submission):
    x, y = sample_arrays()
    y = (y + 1) % 3
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    name = submission.competition.test_set_file.name
    default_storage.delete(name)
    assert default_storage.save(name, io.BytesIO(buffer.getvalue())) == name


def _replace_proof_bytes(submission):
    path = default_storage.path(submission.proof.name)
    with open(path, "r+b") as f:
        f.seek(-1, io.SEEK_END)
        last = f.read(1)
        f.seek(-1, io.SEEK_END)
        f.write(bytes([last[0] ^ 1]))


CASES = {
    # name: (how to spoil a valid submission, expected words in the reason line)
    "forged claim": (None, "the proof does not verify"),
    "proof file changed on storage": (_replace_proof_bytes, "does not match the SHA-256"),
    "proof file missing": (lambda s: default_storage.delete(s.proof.name), "file is missing"),
    "row claim differs from the file": (
        lambda s: Submission.objects.filter(pk=s.pk).update(claimed_count=GOOD_CORRECT - 2),
        f"the proof file claims {GOOD_CORRECT - 1}, the submission {GOOD_CORRECT - 2}",
    ),
    "proof of another commitment": (
        "other",
        "the proof does not verify: the proof file was made for another commitment",
    ),
    "test set on storage corrupted": (
        _corrupt_test_set,
        "the competition's stored test set does not match its digest",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_every_rejection_has_a_reason_line(arena, case):
    spoil, words = CASES[case]
    alice = arena.enter("alice")
    # Commitments close at the reveal, which the first proof needs: bob commits before it.
    bob = arena.enter("bob") if spoil == "other" else None
    proof = alice.proof(arena.competition, claimed=GOOD_CORRECT - 1)
    if case == "forged claim":
        proof = forged(proof, GOOD_CORRECT)
    submission = arena.submit(alice, proof)
    if spoil == "other":
        Submission.objects.filter(pk=submission.pk).update(commitment=bob.record)
    elif spoil is not None:
        spoil(submission)

    assert _run(submission.pk) == "rejected"
    submission.refresh_from_db()
    assert submission.status == Status.REJECTED and submission.attempts == 1
    assert submission.proven_count is None
    last_line = submission.verification_log.splitlines()[-1]
    assert "rejected: " in last_line and words in last_line, last_line
    assert leaderboard(arena.competition) == []


@pytest.fixture
def queued(arena):
    alice = arena.enter("alice")
    return arena.submit(alice, alice.proof(arena.competition))


def test_claim_rules(queued, settings):
    now = timezone.now()
    first = services.claim(queued.pk, worker="a@x", task_id="t1", now=now)
    assert first is not None and first.attempt == 1
    # Another task while the claim is fresh: a duplicate, ignored.
    assert services.claim(queued.pk, worker="b@x", task_id="t2", now=now) is None
    # The same task again (broker redelivery after its worker died, or a retry): taken over.
    second = services.claim(queued.pk, worker="b@x", task_id="t1", now=now)
    assert second is not None and second.attempt == 2
    # The superseded attempt's outcome is dropped; the current one is recorded once.
    outcome = services.check(queued.pk)
    assert outcome.verified
    assert services.record(first, outcome, worker="a@x") is False
    assert services.record(second, outcome, worker="b@x") is True
    assert services.record(second, outcome, worker="b@x") is False
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.verification_worker) == (
        Status.VERIFIED, 2, "b@x",
    )  # fmt: skip
    assert "attempt 1 on a@x did not finish (worker lost); taken over" in queued.verification_log


def test_stale_claim_is_taken_over_then_attempts_run_out(queued, settings):
    settings.VERIFIER_MAX_ATTEMPTS = 2
    start = timezone.now()
    stale = services.stale_after(NUM_SAMPLES)
    assert services.claim(queued.pk, worker="a@x", task_id="t1", now=start).attempt == 1
    assert services.claim(queued.pk, worker="b@x", task_id="t2", now=start + stale / 2) is None
    later = start + stale
    assert services.claim(queued.pk, worker="b@x", task_id="t2", now=later).attempt == 2
    # Out of attempts: rejected with the reason, never left verifying.
    assert services.claim(queued.pk, worker="c@x", task_id="t3", now=later + stale) is None
    queued.refresh_from_db()
    assert queued.status == Status.REJECTED
    assert "rejected: verification did not complete in 2 attempts" in queued.verification_log


def test_sweep_requeues_stale_and_lost_and_rejects_exhausted(arena, settings):
    settings.VERIFIER_MAX_ATTEMPTS = 2
    alice, bob, carol = (arena.enter(n) for n in ("alice", "bob", "carol"))
    stale_one, exhausted, lost, fresh = (
        arena.submit(alice, alice.proof(arena.competition)),
        arena.submit(bob, bob.proof(arena.competition)),
        arena.submit(carol, carol.proof(arena.competition)),
        arena.submit(carol, carol.proof(arena.competition, claimed=GOOD_CORRECT - 1)),
    )
    now = timezone.now()
    long_ago = now - services.stale_after(NUM_SAMPLES) - timedelta(seconds=1)
    services.claim(stale_one.pk, worker="a@x", task_id="t1", now=long_ago)
    services.claim(exhausted.pk, worker="a@x", task_id="t2", now=long_ago)
    Submission.objects.filter(pk=exhausted.pk).update(attempts=2, last_error="boom")
    Submission.objects.filter(pk=lost.pk).update(
        updated_at=now - timedelta(seconds=settings.VERIFIER_QUEUED_TIMEOUT + 1)
    )

    result = services.sweep(now=now)
    assert sorted(result.resend) == sorted([(stale_one.pk, NUM_SAMPLES), (lost.pk, NUM_SAMPLES)])
    assert result.requeued == [stale_one.pk] and result.rejected == [exhausted.pk]
    statuses = dict(Submission.objects.values_list("id", "status"))
    assert statuses == {
        stale_one.pk: Status.QUEUED,
        exhausted.pk: Status.REJECTED,
        lost.pk: Status.QUEUED,
        fresh.pk: Status.QUEUED,
    }
    assert "did not complete in 2 attempts (last error: boom)" in (
        Submission.objects.get(pk=exhausted.pk).verification_log
    )
    # The re-sent one waits a full timeout again before the next re-send.
    assert services.sweep(now=now + timedelta(seconds=1)).resend == []

    # The command runs the same sweep and sends what it found.
    Submission.objects.filter(pk=lost.pk).update(
        updated_at=now - timedelta(seconds=settings.VERIFIER_QUEUED_TIMEOUT + 1)
    )
    out = io.StringIO()
    with mock.patch.object(tasks, "enqueue") as enqueue:
        call_command("verifier_sweep", stdout=out)
    enqueue.assert_called_once_with(lost.pk, num_samples=NUM_SAMPLES)
    assert "re-sent 1 submission(s)" in out.getvalue()


def test_soft_time_limit_releases_then_rejects(queued, settings):
    settings.VERIFIER_MAX_ATTEMPTS = 2
    with mock.patch.object(services, "check", side_effect=SoftTimeLimitExceeded()):
        assert _run(queued.pk, task_id="t1") == "released"
        queued.refresh_from_db()
        assert queued.status == Status.QUEUED and "exceeded the time limit" in queued.last_error
        assert _run(queued.pk, task_id="t2") == "rejected"
    queued.refresh_from_db()
    assert queued.status == Status.REJECTED and queued.attempts == 2
    assert "did not complete in 2 attempts (last error: exceeded the time limit" in (
        queued.verification_log
    )


def test_time_limits_scale_with_the_test_set_and_are_capped(settings):
    settings.VERIFIER_SOFT_LIMIT_BASE = 60
    settings.VERIFIER_SOFT_LIMIT_PER_SAMPLE = 0.5
    settings.VERIFIER_SOFT_LIMIT_MAX = 1800
    settings.VERIFIER_HARD_LIMIT_GRACE = 30
    assert services.time_limits(20) == (70, 100)
    assert services.time_limits(360) == (240, 270)
    assert services.time_limits(10**6) == (1800, 1830)


def test_transient_errors_are_retried_invalid_proofs_are_not(arena):
    alice = arena.enter("alice")
    good = arena.submit(alice, alice.proof(arena.competition))
    bad = arena.submit(alice, forged(alice.proof(arena.competition, GOOD_CORRECT - 1), 18))
    assert OperationalError in tasks.verify_submission.autoretry_for
    assert tasks.verify_submission.acks_late and tasks.verify_submission.reject_on_worker_lost

    lost = OperationalError("server closed the connection")
    with (
        mock.patch.object(services, "check", side_effect=lost),
        mock.patch.object(tasks.verify_submission, "retry", side_effect=RuntimeError("retry")) as r,
        pytest.raises(RuntimeError, match="retry"),
    ):
        tasks.verify_submission.run(good.pk)
    r.assert_called_once()
    assert isinstance(r.call_args.kwargs["exc"], OperationalError)
    good.refresh_from_db()
    assert good.status == Status.VERIFYING and "server closed" in good.last_error

    with mock.patch.object(tasks.verify_submission, "retry") as r:
        assert tasks.verify_submission.run(bad.pk) == "rejected"
    r.assert_not_called()


def test_receiver_enqueues_after_commit_only_when_enabled(
    arena, settings, django_capture_on_commit_callbacks
):
    alice = arena.enter("alice")
    proofs = [alice.proof(arena.competition, claimed=c) for c in (GOOD_CORRECT, GOOD_CORRECT - 1)]

    def submit(proof):
        with django_capture_on_commit_callbacks(execute=True):
            return submission_service.create_submission(
                competition=arena.competition,
                competitor=alice.user,
                proof=upload("p.zkproof", proof.to_bytes()),
                now=AFTER,
            )

    with mock.patch.object(tasks.verify_submission, "apply_async") as send:
        submit(proofs[0])  # test settings: no worker, nothing sent
        send.assert_not_called()
        settings.VERIFIER_ENQUEUE = True
        settings.VERIFIER_QUEUE = "somewhere"
        second = submit(proofs[1])
    send.assert_called_once()
    assert send.call_args.args == ((second.pk,),)
    soft, hard = services.time_limits(NUM_SAMPLES)
    assert send.call_args.kwargs == {
        "queue": "somewhere", "soft_time_limit": soft, "time_limit": hard, "countdown": None,
    }  # fmt: skip


def test_health_command_and_staff_endpoint(arena):
    alice = arena.enter("alice")
    first = arena.submit(alice, alice.proof(arena.competition))
    second = arena.submit(alice, alice.proof(arena.competition, claimed=GOOD_CORRECT - 1))
    _run(first.pk, worker="w1@host")

    out = io.StringIO()
    call_command("verifier_health", "--json", "--no-broker", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["queued"], report["verifying"]) == (1, 0)
    assert report["oldest_queued"]["id"] == second.pk
    assert report["oldest_queued"]["created_at"] == AFTER.isoformat()
    [worker] = report["workers"]
    assert worker["worker"] == "w1@host" and worker["last_submission"] == first.pk
    assert (worker["verified"], worker["rejected"], worker["last_status"]) == (1, 0, "verified")

    text = io.StringIO()
    call_command("verifier_health", "--no-broker", stdout=text)
    assert f"oldest queued: submission {second.pk}" in text.getvalue()
    assert "worker w1@host: last verified submission" in text.getvalue()

    client = APIClient()
    assert client.get("/api/verifier/health/").status_code in (401, 403)
    client.force_authenticate(alice.user)
    assert client.get("/api/verifier/health/").status_code == 403
    staff = User.objects.create_user("sam", "sam@example.org", "pw", is_staff=True)
    client.force_authenticate(staff)
    with mock.patch("verifier.selectors.broker_queue_length", return_value=7):
        response = client.get("/api/verifier/health/")
    assert response.status_code == 200
    assert response.json()["queued"] == 1 and response.json()["broker"]["messages"] == 7


def test_broker_queue_length_counts_messages(settings):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis broker")
    from tests.verifier.worker import new_queue_name, purge_queue

    queue = new_queue_name()
    try:
        for _ in range(3):
            tasks.verify_submission.apply_async((0,), queue=queue)
        from verifier.selectors import broker_queue_length

        assert broker_queue_length(queue) == 3
        assert broker_queue_length(new_queue_name()) == 0
    finally:
        purge_queue(queue)
