"""Fixtures of the platform tests: accounts in every role, a competition with a real test
set, a fixed timeline, a frozen clock, and files in a private media folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from competitions.models import Competition, ModelCommitment, User
from competitions.services import accounts
from competitions.services import commitments as commitment_service
from competitions.services import competitions as competition_service
from zkproofs.accuracy import CommittedModel

from .helpers import (
    CREATED,
    commit,
    commitment_files,
    competition_input,
    npz_bytes,
    sample_arrays,
    upload,
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


class Clock:
    """Stands in for django.utils.timezone.now; services read the time from there."""

    def __init__(self, now: datetime):
        self.current = now

    def __call__(self) -> datetime:
        return self.current

    def set(self, now: datetime) -> None:
        self.current = now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(CREATED)
    monkeypatch.setattr(timezone, "now", c)
    return c


@dataclass
class Roles:
    competitor: User
    other: User
    organizer: User
    staff: User

    def get(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


ROLES = ["anonymous", "competitor", "other", "organizer", "staff"]


@pytest.fixture
def users(db) -> Roles:
    def make(name, **flags):
        return User.objects.create_user(name, f"{name}@example.org", "pw-" + name, **flags)

    return Roles(
        competitor=make("alice"),
        other=make("bob"),
        organizer=make("olga", is_organizer=True),
        staff=make("sam", is_staff=True),
    )


@pytest.fixture
def api(users):
    """api(role) → an APIClient authenticated with that role's real token (or none)."""

    def client_for(role: str) -> APIClient:
        client = APIClient()
        user = users.get(role)
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {accounts.token_for(user).key}")
        return client

    return client_for


@pytest.fixture
def make_competition(users):
    def make(
        *,
        with_test_set: bool = True,
        organizer: User | None = None,
        created: datetime = CREATED,
        **overrides,
    ):
        organizer = organizer or users.organizer
        competition = competition_service.create_competition(
            organizer=organizer, data=competition_input(**overrides), now=created
        )
        if with_test_set:
            x, y = sample_arrays()
            competition = competition_service.upload_test_set(
                competition, by=organizer, upload=upload("test.npz", npz_bytes(x, y)), now=created
            )
        return competition

    return make


@pytest.fixture
def competition(make_competition) -> Competition:
    return make_competition()


@pytest.fixture
def draft(make_competition) -> Competition:
    return make_competition(with_test_set=False, slug="draft-one")


@dataclass
class Registered:
    """A commitment registered through the service, with its secret side (for proving)."""

    record: ModelCommitment
    committed: CommittedModel


@pytest.fixture
def register():
    def run(competition, user, *, model=None, now=CREATED) -> Registered:
        committed = commit(competition, user, model)
        record = commitment_service.register_commitment(
            competition=competition,
            competitor=user,
            now=now,
            **commitment_files(committed),
        )
        return Registered(record, committed)

    return run


@pytest.fixture
def alices(competition, users, register) -> Registered:
    """Alice's commitment in the competition, registered before the reveal."""
    return register(competition, users.competitor)
