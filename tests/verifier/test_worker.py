"""Real Celery workers (subprocesses, prefork pool) against the real broker (Redis under
`make test`) and the test's PostgreSQL database. Rows are committed (transaction=True), so
the worker processes see them; each test uses its own queue, purged at the end."""

from __future__ import annotations

import hashlib
import itertools
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from competitions.models import Submission, SubmissionStatus
from competitions.selectors import leaderboard
from competitions.signals import submission_queued
from tests.competitions.helpers import GOOD_CORRECT, NUM_SAMPLES

from .conftest import AFTER, FINAL, forged, wait_for, wait_for_final
from .worker import new_queue_name, purge_queue, running_worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("needs_postgresql"),
]

Status = SubmissionStatus


def _announce(submission_id: int) -> None:
    submission_queued.send(sender=Submission, submission_id=submission_id)


def _log_lines(submission: Submission, words: str) -> list[str]:
    return [line for line in submission.verification_log.splitlines() if words in line]


def test_valid_invalid_and_duplicate_enqueue(arena):
    """Uploads through the platform reach the worker by the submission_queued hand-off; a
    valid proof ends verified and ranked, a forged one rejected with its reason, and the same
    submission sent twice more is verified once."""
    alice, bob = arena.enter("alice"), arena.enter("bob")
    good_proof = alice.proof(arena.competition)
    bad_proof = forged(bob.proof(arena.competition, claimed=GOOD_CORRECT - 1), GOOD_CORRECT)

    with running_worker() as worker:
        good = arena.submit(alice, good_proof)
        bad = arena.submit(bob, bad_proof)
        _announce(good.pk)  # duplicate enqueues, as a retried hand-off would send: each
        _announce(good.pk)  # supersedes the message before it, or sends nothing once claimed
        wait_for_final([good.pk, bad.pk])
        # Two verifications; every other message consumed was a no-op.
        wait_for(
            lambda: worker.log().count("succeeded") == 2 + worker.log().count("'skipped'"),
            what="every message consumed",
        )
        assert worker.log().count("'skipped'") <= 2

    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == Status.VERIFIED and good.proven_count == GOOD_CORRECT
    assert good.attempts == 1 and good.verification_worker.startswith(worker.hostname_prefix)
    assert good.verification_seconds > 0
    assert len(_log_lines(good, "verified on")) == 1

    assert bad.status == Status.REJECTED and bad.attempts == 1 and bad.proven_count is None
    [reason] = _log_lines(bad, "rejected: ")
    assert "the proof does not verify" in reason

    board = leaderboard(arena.competition)
    assert [(r.submission_id, r.competitor, r.claimed_count) for r in board] == [
        (good.pk, "alice", GOOD_CORRECT)
    ]


def test_worker_killed_mid_verification_is_verified_exactly_once(arena, broker):
    """SIGKILL to the whole worker (main process and pool child) while it verifies.

    The first worker runs the test-only slow path (ZKARENA_TEST_VERIFY_DELAY, honoured only
    by test_settings.py): it sleeps after taking the submission into `verifying`, renewing
    its 3-second lease meanwhile, so the kill lands mid-verification. Its message stays
    unacknowledged in Redis, which would hand it back only after the visibility timeout (an
    hour by default; RabbitMQ hands it back at once, and its redelivery takes the claim
    over); on Redis the test relies on the mechanism that works with any broker: the
    lease runs out, and the replacement worker's supervisor (sweep every second) takes the
    claim over, counts a platform fault and re-sends it to the recovery queue; the new
    worker verifies it (attempt 2), exactly once.
    """
    alice = arena.enter("alice")
    proof = alice.proof(arena.competition)
    queue = new_queue_name()
    try:
        slow = {"ZKARENA_TEST_VERIFY_DELAY": "60", "VERIFIER_LEASE_SECONDS": "3"}
        with running_worker(queue=queue, env=slow) as first:
            submission = arena.submit(alice, proof)
            wait_for(
                lambda: Submission.objects.filter(pk=submission.pk, status=Status.VERIFYING)
                .exists(),
                what="verification in progress",
            )
            time.sleep(0.5)  # well inside the 60 s sleep of the slow path
            first.kill()
            assert not first.alive()
        submission.refresh_from_db()
        assert submission.status == Status.VERIFYING and submission.attempts == 1
        assert submission.verification_worker.startswith(first.hostname_prefix)
        assert leaderboard(arena.competition) == []

        fast = {"VERIFIER_LEASE_SECONDS": "3", "VERIFIER_SWEEP_INTERVAL": "1"}
        with running_worker(queue=queue, env=fast) as second:
            wait_for_final([submission.pk], timeout=60)
    finally:
        purge_queue(queue)

    submission.refresh_from_db()
    assert submission.status == Status.VERIFIED and submission.proven_count == GOOD_CORRECT
    assert submission.attempts == 2 and submission.infra_failures == 1
    assert submission.verification_worker.startswith(second.hostname_prefix)
    # Taken over once: by the sweep (Redis keeps the message) or by the redelivered message
    # itself (RabbitMQ returns it when the dead worker's connection drops).
    assert len(_log_lines(submission, "delayed by the platform: worker lost: attempt 1")) == 1
    assert len(_log_lines(submission, "verified on")) == 1
    assert not Submission.objects.exclude(status__in=FINAL).exists()
    board = leaderboard(arena.competition)
    assert [(r.submission_id, r.claimed_count) for r in board] == [(submission.pk, GOOD_CORRECT)]


COMPETITORS = 5
VALID_EACH = 10  # distinct real proofs per commitment, claims 15…18
FORGED_EACH = 10  # a valid proof of this commitment under another claim: fails the check
FOREIGN_EACH = 20  # another competitor's valid proof filed under this commitment


def test_two_workers_drain_200_mixed_submissions(arena):
    """200 queued submissions (50 valid, 150 invalid: 50 forged claims that fail the
    cryptographic check, 100 proofs of other competitors) drained by two worker processes.
    Rows are written directly (bulk_create): the upload path is tested elsewhere, and its
    one-proof-per-(commitment, digest) rule is kept. The throughput is printed (pytest -s)."""
    competition = arena.competition
    entries = [arena.enter(f"racer{i}") for i in range(COMPETITORS)]
    claims = itertools.cycle(range(15, NUM_SAMPLES - 1))  # 15…18, all ≥ ⌈3/4 · 20⌉
    valid = {i: [e.proof(competition, next(claims)) for _ in range(VALID_EACH)] for i, e in
             enumerate(entries)}  # fmt: skip

    stored: dict[str, str] = {}

    def store(data: bytes) -> tuple[str, str]:
        digest = hashlib.sha256(data).hexdigest()
        if digest not in stored:
            stored[digest] = default_storage.save(
                f"proofs/{competition.uuid}/{digest}.zkproof", ContentFile(data)
            )
        return digest, stored[digest]

    rows, expected = [], {}
    for i, entry in enumerate(entries):
        others = [p for j, ps in valid.items() if j != i for p in ps]
        batch = (
            [(p, True) for p in valid[i]]
            + [(forged(p, 15 + (p.claimed - 14) % 4), False) for p in valid[i][:FORGED_EACH]]
            + [(p, False) for p in others[:FOREIGN_EACH]]
        )
        for proof, ok in batch:
            data = proof.to_bytes()
            digest, name = store(data)
            rows.append(
                Submission(
                    competition=competition,
                    competitor=entry.user,
                    commitment=entry.record,
                    claimed_count=proof.claimed,
                    proof=name,
                    proof_sha256=digest,
                    proof_size=len(data),
                    created_at=AFTER,
                )
            )
            expected[(entry.record.pk, digest)] = ok
    ids = [s.pk for s in Submission.objects.bulk_create(rows)]
    assert len(ids) == 200 and sum(expected.values()) == 50

    queue = new_queue_name()
    try:
        with running_worker(queue=queue) as one, running_worker(queue=queue) as two:
            start = time.monotonic()
            for pk in ids:
                _announce(pk)
            wait_for_final(ids, timeout=300)
            elapsed = time.monotonic() - start
        per_minute = len(ids) / elapsed * 60
        print(
            f"\nverifier load: {len(ids)} submissions drained by 2 workers in {elapsed:.1f} s "
            f"= {per_minute:.0f} proofs/minute"
        )
    finally:
        purge_queue(queue)

    final = list(
        Submission.objects.filter(pk__in=ids).values_list(
            "commitment_id", "proof_sha256", "status", "attempts", "proven_count",
            "claimed_count", "verification_worker",
        )
    )  # fmt: skip
    assert len(final) == 200
    for commitment_id, digest, status, attempts, proven, claimed, _ in final:
        want = Status.VERIFIED if expected[(commitment_id, digest)] else Status.REJECTED
        assert (status, attempts) == (want, 1), (commitment_id, digest, status, attempts)
        assert proven == (claimed if want == Status.VERIFIED else None)
    counts = {s: sum(1 for row in final if row[2] == s) for s in (Status.VERIFIED,
              Status.REJECTED)}  # fmt: skip
    assert counts == {Status.VERIFIED: 50, Status.REJECTED: 150}
    workers = {row[6].split("@")[0] for row in final}
    assert workers == {one.name, two.name}  # both processes took part
    board = leaderboard(competition)
    assert sorted(r.competitor for r in board) == [e.user.username for e in entries]
    assert {r.claimed_count for r in board} == {NUM_SAMPLES - 2}
