"""Database constraints, the receipt key configuration, throttling, the OpenAPI schema and
JSON errors for unknown API routes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from competitions.models import Competition, Submission
from competitions.services import receipts as receipt_service
from zkproofs.receipts import ReceiptSigningKey

from .helpers import (
    CREATED,
    REVEAL,
    SECOND,
    commit,
    commitment_files,
    commitment_row,
    submission_row,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "changes",
    [
        {"threshold_numerator": 11, "threshold_denominator": 10},
        {"threshold_numerator": 0},
        {"proof_deadline": REVEAL},
        {"num_classes": 1},
        {"input_min": 16},
        {"commitment_cap": 0},
        {"test_set_salt": ""},  # a test set without its salt
        {"test_set_digest": "abc"},
    ],
)
def test_database_constraints_hold_without_the_services(competition, changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Competition.objects.filter(pk=competition.pk).update(**changes)


def test_submission_constraints(competition, users):
    commitment = commitment_row(competition, users.competitor, CREATED, "c")
    commitment.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        submission_row(commitment, 18, "approved", created_at=REVEAL).save()
    submission_row(commitment, 18, "queued", created_at=REVEAL).save()
    with pytest.raises(IntegrityError), transaction.atomic():  # the same proof twice
        submission_row(commitment, 18, "queued", created_at=REVEAL).save()
    duplicate = commitment_row(competition, users.other, CREATED, "c")
    with pytest.raises(IntegrityError), transaction.atomic():  # unique platform-wide
        duplicate.save()
    assert Submission.objects.count() == 1


def test_statement_ids_are_immutable_uuids(competition, users):
    digest = competition.spec().digest()
    competition.slug = "renamed"
    competition.title = "Renamed"
    competition.save()
    users.competitor.username = "alice2"
    users.competitor.save()
    assert competition.spec().digest() == digest
    assert competition.spec().competition_id == competition.uuid


def test_receipt_key_from_setting_or_dev_file(settings, tmp_path):
    key = ReceiptSigningKey.generate()
    settings.RECEIPT_SIGNING_KEY = key.to_bytes().hex()
    assert receipt_service.public_key_hex() == key.public_key().hex()

    # DEBUG without a key: one is generated into the var folder, owner-only, and reused.
    settings.RECEIPT_SIGNING_KEY = ""
    settings.DEBUG = True
    settings.RECEIPT_SIGNING_KEY_FILE = tmp_path / "receipt.hex"
    first = receipt_service.public_key_hex()
    assert (tmp_path / "receipt.hex").stat().st_mode & 0o777 == 0o600
    settings.RECEIPT_SIGNING_KEY_FILE = tmp_path / "receipt.hex"  # forget the cached key
    assert receipt_service.public_key_hex() == first

    # A deployment without a key refuses to sign rather than invent one.
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="RECEIPT_SIGNING_KEY"):
        receipt_service.public_key_hex()
    settings.RECEIPT_SIGNING_KEY = "zz"
    with pytest.raises(ImproperlyConfigured):
        receipt_service.public_key_hex()


def test_token_endpoint_is_throttled(client, users, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "auth": "3/minute"}
    bad = {"username": "alice", "password": "wrong"}
    for _ in range(3):
        assert client.post("/api/auth/token/", bad).status_code == 400
    response = client.post("/api/auth/token/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and response.json()["retry_after"]


def test_pages_are_throttled_per_address(client, competition, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "pages": "3/minute"}
    page = f"/competitions/{competition.slug}/leaderboard/"
    for _ in range(3):
        assert client.get(page).status_code == 200
    response = client.get(page)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    # Another address has its own budget; the API is throttled separately.
    assert client.get(page, REMOTE_ADDR="10.9.8.7").status_code == 200
    assert client.get(f"/api/competitions/{competition.slug}/").status_code == 200


def test_uploads_are_throttled_per_account(api, clock, competition, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "upload": "2/hour"}
    url = f"/api/competitions/{competition.slug}/commitments/"
    alice, bob = api("competitor"), api("other")
    assert [alice.post(url, {}).status_code for _ in range(3)] == [400, 400, 429]
    assert alice.get(url).status_code == 200  # reads are not uploads
    assert bob.post(url, {}).status_code == 400  # another account has its own budget


def test_schema_documents_every_endpoint(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in [
        "/api/auth/token/",
        "/api/receipt-key/",
        "/api/competitions/",
        "/api/competitions/{slug}/",
        "/api/competitions/{slug}/test-set/",
        "/api/competitions/{slug}/test-set/data/",
        "/api/competitions/{slug}/commitments/",
        "/api/competitions/{slug}/submissions/",
        "/api/competitions/{slug}/leaderboard/",
        "/api/submissions/{id}/",
        "/api/submissions/{id}/proof/",
    ]:
        assert path.replace("{id}", "{pk}") in paths or path in paths, path
    upload = paths["/api/competitions/{slug}/submissions/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_schema_states_types_refusals_and_anonymous_operations(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    assert components["Competition"]["properties"]["required_correct"]["nullable"] is True
    token = paths["/api/auth/token/"]["post"]
    assert {"400", "429"} <= set(token["responses"])
    assert token["security"] == []  # anonymous, declared
    assert paths["/api/receipt-key/"]["get"]["security"] == []
    assert {"401", "403"} <= set(paths["/api/verifier/health/"]["get"]["responses"])
    for path in ("/api/competitions/{slug}/commitments/", "/api/competitions/{slug}/submissions/"):
        assert "404" in paths[path]["get"]["responses"], path
    create = components["CompetitionCreate"]
    for name in create["required"]:
        prop = create["properties"][name]
        if prop.get("type") == "string" and "format" not in prop:
            assert prop.get("minLength", 0) >= 1, name
    assert create["properties"]["input_scale"]["maximum"] == 1 << 32
    codes = components["Error"]["properties"]["code"]["enum"]
    assert "malformed_proof" in codes and "file_missing" in codes


def test_unknown_api_route_answers_json(client):
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "not found", "code": "not_found"}
    assert client.get("/nothing-here/").status_code == 404


def test_wrong_phase_error_names_the_time(api, clock, users, competition):
    files = commitment_files(commit(competition, users.competitor))
    clock.set(REVEAL + SECOND)
    response = api("competitor").post(
        f"/api/competitions/{competition.slug}/commitments/", files, format="multipart"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "commitments_closed"
    assert REVEAL.isoformat() in response.json()["detail"]
