"""Per-competitor limits hold under real concurrent transactions.

Two threads, each on its own database connection, race for the last slot. A barrier sits
right after the limit check (in the step that writes): without the row lock both threads
would reach it together, both pass the check and both insert. With the lock the second
thread waits on SELECT … FOR UPDATE, the barrier times out in the first, which commits;
the second then counts its row and is refused.
"""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection, connections

from competitions.models import ModelCommitment, Submission
from competitions.services import commitments as commitment_service
from competitions.services import receipts as receipt_service
from competitions.services import submissions as submission_service
from competitions.services.errors import Conflict

from .helpers import REVEAL, SECOND, commit, commitment_files, prove, stored_files, upload

BARRIER_SECONDS = 1.5
UNDER_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _postgresql():
    # Row locks are PostgreSQL's (the deployment database). The embedded SQLite default
    # serialises writers with BEGIN IMMEDIATE instead, but the in-memory test database
    # answers a concurrent writer with "table is locked" rather than waiting.
    if connection.vendor != "postgresql" and not UNDER_CI:
        pytest.skip("needs PostgreSQL (set DATABASE_URL, or run `make test`)")


class _PauseAfterCheck:
    """Wraps a callable so both racers meet (or time out) just before it runs."""

    def __init__(self, real):
        self.real = real
        self.barrier = threading.Barrier(2, timeout=BARRIER_SECONDS)
        self.met = False

    def __call__(self, *args, **kwargs):
        try:
            self.barrier.wait()
            self.met = True  # both threads got past the limit check at once
        except threading.BrokenBarrierError:
            pass
        return self.real(*args, **kwargs)


class _Storage:
    def __init__(self, real, pause):
        self._real = real
        self.save = pause

    def __getattr__(self, name):
        return getattr(self._real, name)


def _race(*calls):
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, call):
        try:
            start.wait()
            results[i] = call()
        except Exception as exc:  # the refusal is a result here
            results[i] = exc
        finally:
            connections.close_all()  # this thread's connection

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_submissions_racing_for_the_last_slot(
    make_competition, users, register, media_root, monkeypatch
):
    competition = make_competition(submission_limit=1)
    alices = register(competition, users.competitor)
    proofs = [
        prove(competition, users.competitor, alices.committed, claimed=c).to_bytes()
        for c in (18, 17)
    ]
    pause = _PauseAfterCheck(submission_service.default_storage.save)
    monkeypatch.setattr(
        submission_service, "default_storage", _Storage(submission_service.default_storage, pause)
    )

    def submit(data):
        return lambda: submission_service.create_submission(
            competition=competition,
            competitor=users.competitor,
            proof=upload("p", data),
            now=REVEAL + SECOND,
        )

    results = _race(submit(proofs[0]), submit(proofs[1]))

    accepted = [r for r in results if isinstance(r, Submission)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert refused[0].code == "submission_limit_reached"
    assert not pause.met
    assert Submission.objects.count() == 1
    assert sorted(stored_files(media_root)) == sorted(
        [competition.test_set_file.name, accepted[0].proof.name]
    )


@pytest.mark.django_db(transaction=True)
def test_two_commitments_racing_for_the_last_slot(make_competition, users, register, monkeypatch):
    competition = make_competition(commitment_cap=2)
    # One slot used first, so the competitor's participation row exists (a first commitment
    # would be serialised by the participation's unique index alone).
    register(competition, users.competitor)
    files = [commitment_files(commit(competition, users.competitor)) for _ in range(2)]
    pause = _PauseAfterCheck(receipt_service.sign)
    monkeypatch.setattr(receipt_service, "sign", pause)

    def register(parts):
        return lambda: commitment_service.register_commitment(
            competition=competition, competitor=users.competitor, now=REVEAL - SECOND, **parts
        )

    results = _race(register(files[0]), register(files[1]))

    accepted = [r for r in results if isinstance(r, ModelCommitment)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert refused[0].code == "commitment_cap_reached"
    assert not pause.met
    assert ModelCommitment.objects.count() == 2
