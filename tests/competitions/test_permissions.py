"""The permission matrix: every endpoint, for an anonymous visitor, the competitor (Alice,
who owns the commitment and the submission), another competitor (Bob), the organizer and
staff. Each cell is a real request with that role's API token."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from competitions.models import Submission, SubmissionStatus
from competitions.services import data_files as data_file_service
from competitions.services import submissions as submission_service

from .conftest import ROLES
from .helpers import (
    CREATED,
    REVEAL,
    SECOND,
    commit,
    commitment_files,
    npz_bytes,
    prove,
    sample_arrays,
    submission_row,
    upload,
)

pytestmark = pytest.mark.django_db
AFTER = REVEAL + SECOND


@dataclass
class Context:
    """What the requests act on, built only when a case needs it (proofs take time)."""

    users: object
    register: object
    make_competition: object
    clock: object

    @cached_property
    def competition(self):
        return self.make_competition()

    @cached_property
    def draft(self):
        return self.make_competition(with_test_set=False, slug="draft")

    @cached_property
    def alices(self):
        return self.register(self.competition, self.users.competitor)

    @cached_property
    def submission(self) -> Submission:
        """Alice's queued submission. Only its visibility is at stake in the GET cases, so
        the row and its file are written directly (uploads have the POST case and
        test_submissions.py, with real proofs)."""
        name = default_storage.save("proofs/matrix.zkproof", ContentFile(b"proof bytes"))
        row = submission_row(self.alices.record, 18, SubmissionStatus.QUEUED, created_at=AFTER)
        row.proof = name
        row.save()
        return row

    @cached_property
    def data_file(self):
        return data_file_service.upload_data_file(
            self.competition, by=self.users.organizer, upload=upload("train.csv", b"1,2,3,4,5\n")
        )

    @cached_property
    def draft_data_file(self):
        return data_file_service.upload_data_file(
            self.draft, by=self.users.organizer, upload=upload("train.csv", b"1,2,3,4,5\n")
        )

    @cached_property
    def hidden(self) -> Submission:
        submission = self.submission
        return submission_service.set_hidden(submission, by=self.users.staff, hidden=True)


def _token(client, ctx, user):
    credentials = (
        {} if user is None else {"username": user.username, "password": f"pw-{user.username}"}
    )
    return client.post("/api/auth/token/", credentials, format="json")


def _create_competition(client, ctx, user):
    body = {
        "slug": "new", "title": "New", "input_shape": [4], "input_min": 0, "input_max": 15,
        "input_scale": 1, "num_classes": 3, "threshold": "1/2", "max_parameters": 50,
        "reveal_at": REVEAL.isoformat(), "proof_deadline": (REVEAL + 9 * SECOND).isoformat(),
    }  # fmt: skip
    return client.post("/api/competitions/", body, format="json")


def _upload_test_set(client, ctx, user):
    x, y = sample_arrays()
    return client.post(
        f"/api/competitions/{ctx.draft.slug}/test-set/", {"file": upload("t.npz", npz_bytes(x, y))}
    )


def _test_set_data(when):
    def request(client, ctx, user):
        slug = ctx.competition.slug
        ctx.clock.set(when)
        return client.get(f"/api/competitions/{slug}/test-set/data/")

    return request


def _commit(client, ctx, user):
    # Each account commits a model of its own (bound to its own id); anonymous tries Alice's.
    committed = commit(ctx.competition, user or ctx.users.competitor)
    return client.post(
        f"/api/competitions/{ctx.competition.slug}/commitments/",
        commitment_files(committed),
        format="multipart",
    )


def _submit(client, ctx, user):
    # Everyone tries to submit Alice's proof for Alice's commitment.
    proof = prove(ctx.competition, ctx.users.competitor, ctx.alices.committed)
    ctx.clock.set(AFTER)
    return client.post(
        f"/api/competitions/{ctx.competition.slug}/submissions/",
        {"proof": upload("p", proof.to_bytes()), "commitment": ctx.alices.record.pk},
        format="multipart",
    )


def _upload_data(client, ctx, user):
    return client.post(
        f"/api/competitions/{ctx.competition.slug}/data/",
        {"file": upload("train.npz", b"training bytes"), "description": "x and y"},
    )


def _get(path_of):
    def request(client, ctx, user):
        return client.get(path_of(ctx))

    return request


ALL_200 = dict.fromkeys(ROLES, 200)
OWNER_AND_STAFF = {
    "anonymous": 404,
    "competitor": 200,
    "other": 404,
    "organizer": 404,
    "staff": 200,
}
ORGANIZER_AND_STAFF = {
    "anonymous": 404,
    "competitor": 404,
    "other": 404,
    "organizer": 200,
    "staff": 200,
}

CASES = {
    "POST auth/token": (
        _token,
        {"anonymous": 400, "competitor": 200, "other": 200, "organizer": 200, "staff": 200},
    ),
    "GET receipt-key": (_get(lambda c: "/api/receipt-key/"), ALL_200),
    "GET me": (_get(lambda c: "/api/me/"), {**ALL_200, "anonymous": 401}),
    "GET schema": (_get(lambda c: "/api/schema/"), ALL_200),
    "GET competitions": (_get(lambda c: "/api/competitions/"), ALL_200),
    "POST competitions": (
        _create_competition,
        {"anonymous": 401, "competitor": 403, "other": 403, "organizer": 201, "staff": 201},
    ),
    "GET competition": (_get(lambda c: f"/api/competitions/{c.competition.slug}/"), ALL_200),
    "GET draft competition": (
        _get(lambda c: f"/api/competitions/{c.draft.slug}/"),
        ORGANIZER_AND_STAFF,
    ),
    "GET test-set": (_get(lambda c: f"/api/competitions/{c.competition.slug}/test-set/"), ALL_200),
    "POST test-set": (
        _upload_test_set,
        {"anonymous": 401, "competitor": 404, "other": 404, "organizer": 201, "staff": 403},
    ),
    "GET test-set data before reveal": (
        _test_set_data(REVEAL - SECOND),
        {"anonymous": 403, "competitor": 403, "other": 403, "organizer": 200, "staff": 403},
    ),
    "GET test-set data after reveal": (_test_set_data(REVEAL), ALL_200),
    "GET commitments": (
        _get(lambda c: f"/api/competitions/{c.alices.record.competition.slug}/commitments/"),
        ALL_200,
    ),
    "POST commitments": (
        _commit,
        {"anonymous": 401, "competitor": 201, "other": 201, "organizer": 403, "staff": 201},
    ),
    "GET submissions": (
        _get(lambda c: f"/api/competitions/{c.submission.competition.slug}/submissions/"),
        ALL_200,
    ),
    "POST submissions": (
        _submit,
        {"anonymous": 401, "competitor": 201, "other": 403, "organizer": 403, "staff": 403},
    ),
    "GET submission": (_get(lambda c: f"/api/submissions/{c.submission.pk}/"), ALL_200),
    "GET hidden submission": (_get(lambda c: f"/api/submissions/{c.hidden.pk}/"), OWNER_AND_STAFF),
    "GET submission proof": (_get(lambda c: f"/api/submissions/{c.submission.pk}/proof/"), ALL_200),
    "GET hidden submission proof": (
        _get(lambda c: f"/api/submissions/{c.hidden.pk}/proof/"),
        OWNER_AND_STAFF,
    ),
    "GET leaderboard": (
        _get(lambda c: f"/api/competitions/{c.competition.slug}/leaderboard/"),
        ALL_200,
    ),
    "GET data files": (_get(lambda c: f"/api/competitions/{c.competition.slug}/data/"), ALL_200),
    "GET draft data files": (
        _get(lambda c: f"/api/competitions/{c.draft.slug}/data/"),
        ORGANIZER_AND_STAFF,
    ),
    "POST data files": (
        _upload_data,
        {"anonymous": 401, "competitor": 403, "other": 403, "organizer": 201, "staff": 403},
    ),
    "GET data file": (
        _get(lambda c: f"/api/competitions/{c.competition.slug}/data/{c.data_file.pk}/"),
        ALL_200,
    ),
    "GET draft data file": (
        _get(lambda c: f"/api/competitions/{c.draft.slug}/data/{c.draft_data_file.pk}/"),
        ORGANIZER_AND_STAFF,
    ),
    "GET draft leaderboard": (
        _get(lambda c: f"/api/competitions/{c.draft.slug}/leaderboard/"),
        ORGANIZER_AND_STAFF,
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(CASES))
def test_permission_matrix(api, users, register, make_competition, clock, endpoint, role):
    request, expected = CASES[endpoint]
    ctx = Context(users, register, make_competition, clock)
    clock.set(CREATED)
    response = request(api(role), ctx, users.get(role))
    assert response.status_code == expected[role], getattr(response, "data", response)
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert body["detail"] and body["code"]  # every refusal explains itself


def test_every_api_route_is_in_the_matrix():
    from django.urls import get_resolver

    from competitions.api import urls

    routes = {str(p.pattern) for p in urls.urlpatterns}
    covered = {
        "auth/token/", "me/", "receipt-key/", "competitions/", "competitions/<slug:slug>/",
        "competitions/<slug:slug>/test-set/", "competitions/<slug:slug>/test-set/data/",
        "competitions/<slug:slug>/commitments/", "competitions/<slug:slug>/submissions/",
        "competitions/<slug:slug>/leaderboard/", "submissions/<int:pk>/",
        "competitions/<slug:slug>/data/", "competitions/<slug:slug>/data/<int:pk>/",
        "submissions/<int:pk>/proof/",
        # The commitment log: anonymous and read-only, like receipt-key/.
        "log/", "log/inclusion/", "log/consistency/", "log/entries/",
    }  # fmt: skip
    assert routes == covered
    assert get_resolver().resolve("/api/schema/")
