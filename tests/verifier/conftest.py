"""Fixtures of the verifier tests: a revealed competition with a real test set, real
commitments and proofs (tests/competitions/helpers.py), uploads through the platform's
services, and waiting for submissions to reach a final state."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from competitions.models import Competition, ModelCommitment, Submission, SubmissionStatus, User
from competitions.services import commitments as commitment_service
from competitions.services import competitions as competition_service
from competitions.services import submissions as submission_service
from tests.competitions.helpers import (
    CREATED,
    REVEAL,
    SECOND,
    commit,
    commitment_files,
    competition_input,
    npz_bytes,
    prove,
    sample_arrays,
    upload,
)
from zkproofs.accuracy import AccuracyProof, CommittedModel

AFTER = REVEAL + SECOND
UNDER_CI = os.environ.get("CI", "").lower() == "true"
FINAL = (SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED)


@pytest.fixture
def needs_postgresql():
    # A worker process shares the test's database, which the in-memory SQLite test database
    # cannot do; CI always runs on PostgreSQL.
    if connection.vendor != "postgresql" and not UNDER_CI:
        pytest.skip("needs PostgreSQL (set DATABASE_URL, or run `make test`)")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


@dataclass
class Entry:
    """A competitor's registered commitment and the secret side needed to prove."""

    user: User
    record: ModelCommitment
    committed: CommittedModel

    def proof(self, competition: Competition, claimed: int | None = None) -> AccuracyProof:
        return prove(competition, self.user, self.committed, claimed=claimed)


@dataclass
class Arena:
    competition: Competition
    organizer: User

    def competitor(self, name: str) -> User:
        return User.objects.create_user(name, f"{name}@example.org", "pw-" + name)

    def enter(self, name: str) -> Entry:
        """A new competitor with a real commitment, registered before the reveal."""
        user = self.competitor(name)
        committed = commit(self.competition, user)
        record = commitment_service.register_commitment(
            competition=self.competition,
            competitor=user,
            now=CREATED,
            **commitment_files(committed),
        )
        return Entry(user, record, committed)

    def submit(self, entry: Entry, proof: AccuracyProof) -> Submission:
        """Upload through the platform: on commit it announces submission_queued."""
        return submission_service.create_submission(
            competition=self.competition,
            competitor=entry.user,
            proof=upload("proof.zkproof", proof.to_bytes()),
            now=AFTER,
        )


@pytest.fixture
def arena(db) -> Arena:
    organizer = User.objects.create_user("olga", "olga@example.org", "pw", is_organizer=True)
    competition = competition_service.create_competition(
        organizer=organizer, data=competition_input(submission_limit=50), now=CREATED
    )
    x, y = sample_arrays()
    competition = competition_service.upload_test_set(
        competition, by=organizer, upload=upload("test.npz", npz_bytes(x, y)), now=CREATED
    )
    return Arena(competition, organizer)


def forged(proof: AccuracyProof, claimed: int) -> AccuracyProof:
    """The same proof under another claim: well-formed and accepted for upload, but the
    statement it was made for differs, so it must not verify."""
    return dataclasses.replace(proof, claimed=claimed)


def wait_for_final(ids: Iterable[int], timeout: float = 60) -> float:
    """Poll until every submission is verified or rejected; returns the seconds waited."""
    ids = list(ids)
    start = time.monotonic()
    while True:
        done = Submission.objects.filter(pk__in=ids, status__in=FINAL).count()
        if done == len(ids):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            pending = list(
                Submission.objects.filter(pk__in=ids)
                .exclude(status__in=FINAL)
                .values_list("id", "status", "attempts")[:10]
            )
            raise AssertionError(f"{len(ids) - done} not final after {timeout} s: {pending}")
        time.sleep(0.2)


def wait_for(predicate, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.1)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request) -> Iterable[str]:
    """Run the test on each broker (tests/verifier/worker.py, broker_urls); a broker that
    does not answer fails the test, never skips it."""
    from .worker import broker_urls, using_broker

    with using_broker(broker_urls()[request.param]):
        yield request.param
