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
from django.core.files.storage import default_storage
from django.core.management import call_command
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
    return services.verify_submission(pk, worker=worker, task_id=task_id).status


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
    "row claim differs from the file": (
        lambda s: Submission.objects.filter(pk=s.pk).update(claimed_count=GOOD_CORRECT - 2),
        f"the proof file claims {GOOD_CORRECT - 1}, the submission {GOOD_CORRECT - 2}",
    ),
    "proof of another commitment": (
        "other",
        "the proof does not verify: the proof file was made for another commitment",
    ),
}

PLATFORM_FAULTS = {
    # Storage failing is the platform's fault, never the competitor's rejection.
    "proof file changed on storage": (_replace_proof_bytes, "does not match its upload SHA-256"),
    "proof file missing": (lambda s: default_storage.delete(s.proof.name), "file is missing"),
    "test set on storage corrupted": (_corrupt_test_set, "does not match"),
}


@pytest.mark.parametrize("case", PLATFORM_FAULTS)
def test_storage_faults_are_the_platforms_not_a_rejection(arena, settings, case):
    settings.VERIFIER_INFRA_BUDGET = 2
    spoil, words = PLATFORM_FAULTS[case]
    alice = arena.enter("alice")
    submission = arena.submit(alice, alice.proof(arena.competition))
    spoil(submission)

    result = services.verify_submission(submission.pk, worker="w@x", task_id="t1")
    assert result.status == "retry" and result.resend.recovery
    assert result.resend.countdown == settings.VERIFIER_INFRA_BACKOFF_BASE
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, submission.infra_failures) == (
        Status.QUEUED, 1, 1,
    )  # fmt: skip
    assert submission.dispatch_token == result.resend.token
    assert "delayed by the platform: storage: " in submission.verification_log
    assert words in submission.last_error
    # The second fault spends the budget: parked in error, never rejected.
    assert _run(submission.pk, task_id="t2") == "parked"
    submission.refresh_from_db()
    assert submission.status == Status.ERROR and submission.infra_failures == 2
    assert "rejected" not in submission.verification_log
    assert submission.get_status_display() == "Delayed by the platform"


@pytest.mark.parametrize("case", CASES)
def test_every_rejection_has_a_reason_line(arena, case):
    spoil, words = CASES[case]
    alice = arena.enter("alice")
    bob = arena.enter("bob")  # before any submission: the reveal then enters the log
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
    assert "worker lost: attempt 1 on a@x did not finish; taken over" in queued.verification_log
    assert queued.infra_failures == 1  # the lost attempt is the platform's, not a verdict


def test_superseded_message_is_a_no_op(queued):
    first = services.dispatch(queued.pk)
    second = services.dispatch(queued.pk)
    assert first.token != second.token
    assert services.claim(queued.pk, worker="a@x", task_id="t1", token=first.token) is None
    c = services.claim(queued.pk, worker="a@x", task_id="t2", token=second.token)
    assert c is not None and c.attempt == 1
    assert services.dispatch(queued.pk) is None  # not queued any more: nothing to send


def test_expired_lease_is_taken_over_then_the_budget_parks_it(queued, settings):
    settings.VERIFIER_INFRA_BUDGET = 2
    start = timezone.now()
    lease = timedelta(seconds=settings.VERIFIER_LEASE_SECONDS)
    assert services.claim(queued.pk, worker="a@x", task_id="t1", now=start).attempt == 1
    assert services.claim(queued.pk, worker="b@x", task_id="t2", now=start + lease / 2) is None
    later = start + lease
    assert services.claim(queued.pk, worker="b@x", task_id="t2", now=later).attempt == 2
    # Out of the platform's budget: parked in error for staff, never rejected.
    assert services.claim(queued.pk, worker="c@x", task_id="t3", now=later + lease) is None
    queued.refresh_from_db()
    assert queued.status == Status.ERROR and queued.infra_failures == 2
    assert "rejected" not in queued.verification_log
    assert "parked for the site's staff" in queued.verification_log


def test_sweep_takes_over_dead_claims_and_resends_only_lost_messages(arena, settings):
    settings.VERIFIER_INFRA_BUDGET = 2
    alice, bob, carol = (arena.enter(n) for n in ("alice", "bob", "carol"))
    dead, exhausted, lost, waiting = (
        arena.submit(alice, alice.proof(arena.competition)),
        arena.submit(bob, bob.proof(arena.competition)),
        arena.submit(carol, carol.proof(arena.competition)),
        arena.submit(carol, carol.proof(arena.competition, claimed=GOOD_CORRECT - 1)),
    )
    now = timezone.now()
    timeout = timedelta(seconds=settings.VERIFIER_QUEUED_TIMEOUT)
    long_ago = now - timedelta(seconds=settings.VERIFIER_LEASE_SECONDS + 1)
    services.claim(dead.pk, worker="a@x", task_id="t1", now=long_ago)
    services.claim(exhausted.pk, worker="a@x", task_id="t2", now=long_ago)
    # A recovery-queue message sent after `waiting`'s and started proves nothing about
    # the verification queue: FIFO holds per queue.
    Submission.objects.filter(pk=exhausted.pk).update(
        infra_failures=1,
        dispatch_token=services.RECOVERY + "y",
        dispatched_at=now - 2 * timeout + timedelta(seconds=5),
        verification_started_at=now - 2 * timeout + timedelta(seconds=5),
    )
    # Two messages sent long ago and still queued: one before a message that has since
    # been started (so it is provably lost), one after it (it may still be in the queue).
    services.dispatch(lost.pk, now=now - 3 * timeout)
    services.dispatch(waiting.pk, now=now - 2 * timeout + timedelta(seconds=1))
    Submission.objects.filter(pk=dead.pk).update(
        dispatch_token=services.MAIN + "x",
        dispatched_at=now - 2 * timeout,
        verification_started_at=now - 2 * timeout,
    )

    result = services.sweep(now=now)
    assert [(d.submission_id, d.recovery, d.countdown) for d in result.resend] == [
        (dead.pk, True, 0.0), (lost.pk, False, 0.0),
    ]  # fmt: skip
    assert (result.taken_over, result.parked, result.lost) == ([dead.pk], [exhausted.pk],
                                                                [lost.pk])  # fmt: skip
    statuses = dict(Submission.objects.values_list("id", "status"))
    assert statuses == {
        dead.pk: Status.QUEUED,
        exhausted.pk: Status.ERROR,
        lost.pk: Status.QUEUED,
        waiting.pk: Status.QUEUED,
    }
    assert Submission.objects.get(pk=lost.pk).dispatch_token == result.resend[1].token
    # A re-sent message is not re-sent again while it may be queued.
    assert services.sweep(now=now + timedelta(seconds=1)).resend == []
    # With the broker's word that its queues are empty, every overdue queued row is lost.
    later = now + timeout + timedelta(seconds=2)
    assert {d.submission_id for d in services.sweep(now=later, queues_empty=True).resend} == {
        dead.pk, lost.pk, waiting.pk,
    }  # fmt: skip


def test_staff_requeue_command_gives_a_fresh_budget(queued, settings):
    settings.VERIFIER_INFRA_BUDGET = 1
    c = services.claim(queued.pk, worker="a@x", task_id="t1")
    assert services.platform_fault(c, "database: gone") is None
    queued.refresh_from_db()
    assert queued.status == Status.ERROR
    out = io.StringIO()
    call_command("verifier_requeue", str(queued.pk), "--no-send", stdout=out)
    assert f"queued again: {queued.pk}" in out.getvalue()
    queued.refresh_from_db()
    assert (queued.status, queued.infra_failures) == (Status.QUEUED, 0)
    assert queued.dispatch_token and "queued again by" in queued.verification_log
    assert _run(queued.pk, task_id="t2") == "verified"


def test_time_limits_scale_with_the_test_set_and_are_capped(settings):
    settings.VERIFIER_SOFT_LIMIT_BASE = 60
    settings.VERIFIER_SOFT_LIMIT_PER_SAMPLE = 0.5
    settings.VERIFIER_SOFT_LIMIT_MAX = 1800
    settings.VERIFIER_HARD_LIMIT_GRACE = 30
    assert services.time_limits(20) == (70, 100)
    assert services.time_limits(360) == (240, 270)
    assert services.time_limits(10**6) == (1800, 1830)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("needs_postgresql")
def test_dropped_connection_is_recorded_on_a_fresh_one(arena, settings):
    """A real dropped connection: the test-only fault terminates this process's own
    PostgreSQL backend right after the claim; the error is recorded on a fresh connection
    as a platform fault (not an attempt that rejects), and the next try verifies."""
    alice = arena.enter("alice")
    good = arena.submit(alice, alice.proof(arena.competition))
    bad = arena.submit(alice, forged(alice.proof(arena.competition, GOOD_CORRECT - 1), 18))
    assert tasks.verify_submission.acks_late and tasks.verify_submission.reject_on_worker_lost
    assert not getattr(tasks.verify_submission, "autoretry_for", ())

    settings.VERIFIER_TEST_FAULTS = "drop_db"
    result = services.verify_submission(good.pk, worker="w@x", task_id="t1")
    assert result.status == "retry" and result.resend is not None
    good.refresh_from_db()
    assert (good.status, good.attempts, good.infra_failures) == (Status.QUEUED, 1, 1)
    assert good.last_error.startswith("database: ")
    assert _run(good.pk, task_id="t2") == "verified"
    # A forged proof hit by the same fault still ends rejected for its real reason.
    assert _run(bad.pk, task_id="t3") == "retry"
    assert _run(bad.pk, task_id="t4") == "rejected"
    bad.refresh_from_db()
    assert "rejected: the proof does not verify" in bad.verification_log
    assert bad.infra_failures == 1


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
    second.refresh_from_db()
    assert send.call_args.args == ((second.pk,), {"token": second.dispatch_token})
    assert second.dispatch_token and second.dispatched_at
    soft, hard = services.time_limits(NUM_SAMPLES)
    assert send.call_args.kwargs == {
        "queue": "somewhere", "soft_time_limit": soft, "time_limit": hard, "countdown": None,
    }  # fmt: skip


def test_health_command_and_staff_endpoint(arena, settings):
    from verifier.models import WorkerHeartbeat

    alice = arena.enter("alice")
    first = arena.submit(alice, alice.proof(arena.competition))
    second = arena.submit(alice, alice.proof(arena.competition, claimed=GOOD_CORRECT - 1))
    third = arena.submit(alice, alice.proof(arena.competition, claimed=GOOD_CORRECT - 2))
    _run(first.pk, worker="w1@host")
    now = timezone.now()
    beat = timedelta(seconds=settings.VERIFIER_HEARTBEAT_INTERVAL)
    WorkerHeartbeat.objects.create(name="w1@host", pid=10, started_at=now, last_seen=now)
    WorkerHeartbeat.objects.create(name="w2@host", pid=11, started_at=now - 9 * beat,
                                   last_seen=now - 4 * beat)  # fmt: skip
    # A claim whose worker died: its lease ran out.
    services.claim(third.pk, worker="w2@host", task_id="t9",
                   now=now - timedelta(seconds=settings.VERIFIER_LEASE_SECONDS + 5))  # fmt: skip

    out = io.StringIO()
    call_command("verifier_health", "--json", "--no-broker", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["queued"], report["verifying"], report["dead_claims"]) == (1, 1, 1)
    assert report["oldest_queued"]["id"] == second.pk
    assert report["oldest_queued"]["created_at"] == AFTER.isoformat()
    [claim] = report["claims"]
    assert claim["id"] == third.pk and not claim["alive"] and claim["age_seconds"] >= 35
    alive = {w["worker"]: w["alive"] for w in report["workers"]}
    assert alive == {"w1@host": True, "w2@host": False} and report["workers_alive"] == 1
    [w1] = [w for w in report["workers"] if w["worker"] == "w1@host"]
    assert (w1["verified"], w1["rejected"]) == (1, 0)

    text = io.StringIO()
    call_command("verifier_health", "--no-broker", stdout=text)
    assert f"oldest queued: submission {second.pk}" in text.getvalue()
    assert "worker w2@host (pid 11): DEAD" in text.getvalue()
    assert f"claim: submission {third.pk} on w2@host" in text.getvalue()

    client = APIClient()
    assert client.get("/api/verifier/health/").status_code in (401, 403)
    client.force_authenticate(alice.user)
    assert client.get("/api/verifier/health/").status_code == 403
    staff = User.objects.create_user("sam", "sam@example.org", "pw", is_staff=True)
    client.force_authenticate(staff)
    response = client.get("/api/verifier/health/")
    assert response.status_code == 200
    assert response.json()["queued"] == 1
    assert [q["queue"] for q in response.json()["broker"]["queues"]] == [
        settings.VERIFIER_RECOVERY_QUEUE, settings.VERIFIER_QUEUE, settings.VERIFIER_LARGE_QUEUE,
    ]  # fmt: skip


def test_broker_queue_length_counts_messages(broker):
    from tests.verifier.worker import new_queue_name, purge_queue
    from verifier.selectors import broker_queue_length

    queue = new_queue_name()
    try:
        for _ in range(3):
            tasks.verify_submission.apply_async((0,), queue=queue)
        assert broker_queue_length(queue) == 3
        assert broker_queue_length(new_queue_name()) == 0
    finally:
        purge_queue(queue)


def test_a_parked_submission_reads_delayed_never_rejected(queued, settings, client, capsys):
    """What the competitor sees of `error`: the page, the API and the command line's
    wording all say the platform delayed it; nothing says rejected."""
    from zkproofs.cli.output import print_submission

    settings.VERIFIER_INFRA_BUDGET = 1
    c = services.claim(queued.pk, worker="a@x", task_id="t1")
    services.platform_fault(c, "database: server closed the connection")

    page = client.get(f"/submissions/{queued.pk}/").content.decode()
    assert "Delayed by the platform" in page and 'id="delayed"' in page
    assert 'class="badge error" id="status">Delayed by the platform<' in page
    assert ">Rejected<" not in page and "rejected:" not in page
    api = APIClient().get(f"/api/submissions/{queued.pk}/").json()
    assert (api["status"], api["status_display"]) == ("error", "Delayed by the platform")
    print_submission(api)
    out = capsys.readouterr().out
    assert "status delayed by the platform" in out and "not a verdict" in out
    assert "rejected" not in out


@pytest.mark.django_db(transaction=True)
def test_status_wait_exits_3_for_a_parked_submission(queued, settings, live_server, tmp_path,
                                                     monkeypatch):
    """`zkarena status N --wait` against a live site: a submission parked by platform faults
    ends the wait with exit 3 (the platform's fault, as for a network error), never 1 (a
    rejection), and says "delayed by the platform"."""
    from tests.zkproofs.cli_helpers import run_cli

    monkeypatch.setenv("ZKARENA_CONFIG", str(tmp_path / "config.json"))
    settings.VERIFIER_INFRA_BUDGET = 1
    c = services.claim(queued.pk, worker="a@x", task_id="t1")
    services.platform_fault(c, "database: server closed the connection")
    assert Submission.objects.get(pk=queued.pk).status == SubmissionStatus.ERROR
    res = run_cli("status", queued.pk, "--wait", "30", "--url", live_server.url)
    assert res.rc == 3, res
    assert "delayed by the platform" in res.out and "rejected" not in res.out


def test_admin_action_requeues_parked_submissions_only(arena, settings, client):
    """Staff re-queue from the admin: the parked one goes back to the recovery queue (a
    real message on the test broker, purged after), a verified one is left alone."""
    from tests.verifier.worker import new_queue_name, purge_queue
    from zkarena_site.celery import app

    settings.VERIFIER_INFRA_BUDGET = 1
    queue = new_queue_name()
    settings.VERIFIER_QUEUE, settings.VERIFIER_RECOVERY_QUEUE = queue, f"{queue}.recovery"
    alice = arena.enter("alice")
    parked = arena.submit(alice, alice.proof(arena.competition))
    done = arena.submit(alice, alice.proof(arena.competition, claimed=GOOD_CORRECT - 1))
    services.platform_fault(services.claim(parked.pk, worker="a@x", task_id="t1"), "storage: x")
    assert _run(done.pk, task_id="t2") == "verified"

    staff = User.objects.create_user("sam", "sam@example.org", "pw", is_staff=True,
                                     is_superuser=True)  # fmt: skip
    client.force_login(staff)
    try:
        response = client.post(
            "/admin/competitions/submission/",
            {"action": "requeue", "_selected_action": [parked.pk, done.pk]},
            follow=True,
        )
        assert response.status_code == 200
        assert "1 submission(s) queued again." in response.content.decode()
        with app.connection_for_read() as conn:
            channel = conn.channel()
            assert channel.queue_declare(queue=f"{queue}.recovery", passive=True).message_count == 1
            channel.close()
    finally:
        purge_queue(queue)
    parked.refresh_from_db()
    done.refresh_from_db()
    assert (parked.status, parked.infra_failures) == (Status.QUEUED, 0)
    assert "queued again by staff (sam)" in parked.verification_log
    assert done.status == Status.VERIFIED
