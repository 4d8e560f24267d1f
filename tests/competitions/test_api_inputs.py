"""Bad query strings and bodies get clear 4xx JSON answers and write nothing: page bounds,
list filters, bodies over Django's form limits, files missing from storage."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from competitions.models import Submission

from .helpers import CREATED, commitment_row, submission_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(competition, users):
    commitment = commitment_row(competition, users.competitor, CREATED, "a")
    commitment.save()
    submission_row(commitment, 18, "verified", created_at=CREATED).save()
    return competition


def _lists(slug):
    return [
        "/api/competitions/",
        f"/api/competitions/{slug}/commitments/",
        f"/api/competitions/{slug}/submissions/",
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": str(1 << 70)},  # was a 500 (the database's 64-bit LIMIT)
        {"limit": "9223372036854775807"},  # was every row
        {"limit": "1001"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"offset": "null"},  # was silently 0
        {"offset": "-5"},
        {"offset": str(1 << 70)},
    ],
    ids=lambda q: "&".join(f"{k}={v[:12]}" for k, v in q.items()),
)
def test_page_bounds_are_enforced(api, listed, query):
    for url in _lists(listed.slug):
        response = api("anonymous").get(url, query)
        assert response.status_code == 400, (url, response.content)
        body = response.json()
        assert body["code"] == "invalid" and set(body["errors"]) == set(query)


def test_pages_within_bounds(api, listed):
    for url in _lists(listed.slug):
        body = api("anonymous").get(url, {"limit": "1000", "offset": "0"}).json()
        assert body["count"] == 1 and len(body["results"]) == 1
    schema = api("anonymous").get("/api/schema/", {"format": "json"}).json()
    params = schema["paths"]["/api/competitions/"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 1000)


@pytest.mark.parametrize(
    "query",
    [{"status": "\x00"}, {"status": "AAA"}, {"mine": "maybe"}, {"mine": "\x00"}],
    ids=["status-nul", "status-unknown", "mine-word", "mine-nul"],
)
def test_list_filters_are_validated(api, listed, query):
    url = f"/api/competitions/{listed.slug}/submissions/"
    response = api("competitor").get(url, query)
    assert response.status_code == 400, response.content  # NUL was a 500 on PostgreSQL
    assert set(response.json()["errors"]) == set(query)
    if "mine" in query:
        commitments = api("competitor").get(f"/api/competitions/{listed.slug}/commitments/", query)
        assert commitments.status_code == 400


def test_valid_filters_still_filter(api, listed):
    url = f"/api/competitions/{listed.slug}/submissions/"
    assert api("competitor").get(url, {"status": "verified"}).json()["count"] == 1
    assert api("competitor").get(url, {"status": "queued"}).json()["count"] == 0
    assert api("competitor").get(url, {"mine": "true"}).json()["count"] == 1
    assert api("other").get(url, {"mine": "1"}).json()["count"] == 0


def test_files_missing_from_storage_are_a_clear_404(api, clock, listed):
    submission = Submission.objects.get()  # a row whose proof file was never stored
    assert not default_storage.exists(submission.proof.name)
    response = api("anonymous").get(f"/api/submissions/{submission.pk}/proof/")
    assert response.status_code == 404 and response.json()["code"] == "file_missing"
    default_storage.delete(listed.test_set_file.name)
    response = api("organizer").get(f"/api/competitions/{listed.slug}/test-set/data/")
    assert response.status_code == 404 and response.json()["code"] == "file_missing"


def test_bodies_over_the_form_limits_answer_json(client, settings, competition):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = "username=alice&password=" + "x" * 20_000
    response = client.post(
        "/api/auth/token/", big, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"

    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"f{i}": "1" for i in range(20)}
    response = client.post(f"/api/competitions/{competition.slug}/commitments/", fields)
    assert response["Content-Type"] == "application/json"
    assert response.status_code in (400, 401)
    response = client.post("/api/auth/token/", fields)
    assert response.status_code == 400 and response.json()["code"] == "too_many_fields"
