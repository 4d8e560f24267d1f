"""Submitting proofs: the proof window, ownership, limits, duplicates, bad proof files, the
hand-off signal, and re-verifying a submission from what the API publishes."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json

import numpy as np
import pytest
from django.core.files.storage import default_storage

from competitions.models import Submission, SubmissionStatus
from competitions.services import proof_files
from competitions.services import submissions as submission_service
from competitions.services.errors import Conflict
from competitions.signals import submission_queued
from zkproofs import accuracy
from zkproofs.competition import CompetitionSpec

from .helpers import (
    DEADLINE,
    GOOD_CORRECT,
    REVEAL,
    SECOND,
    prove,
    stored_files,
    upload,
)

pytestmark = pytest.mark.django_db
AFTER = REVEAL + SECOND


def _post(api, role, competition, data: bytes, **fields):
    return api(role).post(
        f"/api/competitions/{competition.slug}/submissions/",
        {"proof": upload("proof.zkproof", data), **fields},
        format="multipart",
    )


def test_submission_is_queued_announced_and_re_verifiable_from_the_api(
    api, clock, users, competition, alices, media_root, django_capture_on_commit_callbacks
):
    clock.set(AFTER)
    proof = prove(competition, users.competitor, alices.committed).to_bytes()
    announced = []

    def receiver(sender, submission_id, **kwargs):
        announced.append(submission_id)

    submission_queued.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _post(api, "competitor", competition, proof)
            assert announced == []  # not before the transaction commits
    finally:
        submission_queued.disconnect(receiver)
    assert response.status_code == 201, response.json()
    body = response.json()
    submission = Submission.objects.get()
    assert announced == [submission.pk]
    assert body["status"] == "queued" and submission.status == SubmissionStatus.QUEUED
    assert body["claimed_count"] == GOOD_CORRECT and body["accuracy"] == "18/20"
    assert submission.commitment == alices.record and submission.attempts == 0
    assert submission.proof_sha256 == hashlib.sha256(proof).hexdigest()
    assert sorted(stored_files(media_root)) == sorted(
        [competition.test_set_file.name, submission.proof.name]
    )

    # Anyone re-verifies it from the public record, the proof download and the test set.
    record = api("anonymous").get(f"/api/submissions/{submission.pk}/").json()
    downloaded = api("anonymous").get(f"/api/submissions/{submission.pk}/proof/")
    assert downloaded["X-Content-SHA256"] == submission.proof_sha256
    proof_file = accuracy.AccuracyProof.from_bytes(b"".join(downloaded.streaming_content))
    test_set = api("anonymous").get(f"/api/competitions/{competition.slug}/test-set/data/")
    arrays = np.load(io.BytesIO(b"".join(test_set.streaming_content)))
    spec = CompetitionSpec.from_json(json.dumps(record["spec"]))
    salt = api("anonymous").get(f"/api/competitions/{competition.slug}/test-set/").json()["salt"]
    report = accuracy.verify_accuracy(
        spec,
        arrays["x"],
        arrays["y"],
        bytes.fromhex(salt),
        record["competitor_id"],
        bytes.fromhex(record["commitment_record"]["architecture"]),
        bytes.fromhex(record["commitment_record"]["commitment"]),
        record["claimed_count"],
        proof_file.proof,
    )
    assert report.correct == GOOD_CORRECT and report.meets_threshold


@pytest.mark.parametrize(
    ("when", "code"),
    [
        (REVEAL - SECOND, "proofs_not_open"),
        (REVEAL + SECOND, None),
        (DEADLINE - SECOND, None),
        (DEADLINE, "proofs_closed"),
        (DEADLINE + SECOND, "proofs_closed"),
    ],
    ids=[
        "1s-before-reveal",
        "1s-after-reveal",
        "1s-before-deadline",
        "at-deadline",
        "1s-after-deadline",
    ],
)
def test_proof_window_edges(users, competition, alices, media_root, when, code):
    proof = prove(competition, users.competitor, alices.committed).to_bytes()
    call = dict(
        competition=competition, competitor=users.competitor, proof=upload("p", proof), now=when
    )
    if code is None:
        assert submission_service.create_submission(**call).created_at == when
    else:
        with pytest.raises(Conflict) as refused:
            submission_service.create_submission(**call)
        assert refused.value.code == code
        assert not Submission.objects.exists()
        assert stored_files(media_root) == [competition.test_set_file.name]


def _corrupt_point(data: bytes) -> bytes:
    # The first row commitment of the proof: 134 bytes of file header, 38 of the protocol-v2
    # proof's own header (magic, version, params_id); 0xff… is no valid compressed point.
    return data[:172] + b"\xff" * 48 + data[220:]


def _declared_length(data: bytes, length: int) -> bytes:
    # The proof file header ends with the proof's length, a u64 at bytes 126..134.
    return data[:126] + length.to_bytes(8, "big") + data[134:]


def _bad_proofs(competition, users, committed):
    good = prove(competition, users.competitor, committed)
    raw = good.to_bytes()
    elsewhere = dataclasses.replace(good, competition_digest=hashlib.sha256(b"other").digest())
    for_bob = dataclasses.replace(good, submitter_id=users.other.uuid)
    return {
        "random bytes": (b"\x00" * 300, {}, 400, "malformed_proof"),
        "truncated": (raw[:-1], {}, 400, "malformed_proof"),
        "trailing byte": (raw + b"\x00", {}, 400, "malformed_proof"),
        "header declares too much": (_declared_length(raw, 1 << 40), {}, 413, "file_too_large"),
        "header declares nothing": (_declared_length(raw, 0)[:134], {}, 400, "malformed_proof"),
        "wrong version": (raw[:4] + b"\x00\x09" + raw[6:], {}, 400, "malformed_proof"),
        "retired version 1": (raw[:4] + b"\x00\x01" + raw[6:], {}, 400, "malformed_proof"),
        "wrong sha256": (raw, {"sha256": "ab" * 32}, 400, "digest_mismatch"),
        "other competition digest": (elsewhere.to_bytes(), {}, 400, "proof_mismatch"),
        "other submitter": (for_bob.to_bytes(), {}, 400, "proof_mismatch"),
        "claim differs from request": (raw, {"claimed_count": 17}, 400, "proof_mismatch"),
        "empty": (b"", {}, 400, "invalid"),
    }


BAD = [
    "random bytes",
    "truncated",
    "trailing byte",
    "header declares too much",
    "header declares nothing",
    "wrong version",
    "retired version 1",
    "wrong sha256",
    "other competition digest",
    "other submitter",
    "claim differs from request",
    "empty",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_proof_uploads_change_nothing(api, clock, users, competition, alices, media_root, case):
    clock.set(AFTER)
    data, fields, status, code = _bad_proofs(competition, users, alices.committed)[case]
    response = _post(api, "competitor", competition, data, commitment=alices.record.pk, **fields)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    if case == "retired version 1":
        assert "version 1, protocol v1" in response.json()["detail"]
    assert not Submission.objects.exists()
    assert stored_files(media_root) == [competition.test_set_file.name]


def test_claim_below_threshold_is_refused(api, clock, users, competition, alices, media_root):
    clock.set(AFTER)
    # A true claim (the model gets 18 right, so "at least 14" holds) but under ⌈3/4·20⌉.
    proof = prove(competition, users.competitor, alices.committed, claimed=14).to_bytes()
    response = _post(api, "competitor", competition, proof)
    assert response.status_code == 400
    assert response.json()["code"] == "claim_below_threshold"
    assert "at least 15 of 20" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_oversized_proof_is_refused_with_413(
    api, clock, users, competition, alices, media_root, settings
):
    clock.set(AFTER)
    proof = prove(competition, users.competitor, alices.committed).to_bytes()
    settings.MAX_PROOF_BYTES = len(proof) - 1
    response = _post(api, "competitor", competition, proof)
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    assert not Submission.objects.exists()
    assert stored_files(media_root) == [competition.test_set_file.name]


def test_duplicate_proof_is_refused(api, clock, users, competition, alices):
    clock.set(AFTER)
    proof = prove(competition, users.competitor, alices.committed).to_bytes()
    assert _post(api, "competitor", competition, proof).status_code == 201
    again = _post(api, "competitor", competition, proof)
    assert again.status_code == 409 and again.json()["code"] == "duplicate_proof"
    assert Submission.objects.count() == 1


def test_submission_limit_per_competitor(api, clock, users, competition, alices, register):
    # A second commitment (made before the reveal, as every commitment must be: once the
    # reveal is in the commitment log nothing may follow it) ...
    second = register(competition, users.competitor)
    clock.set(AFTER)
    limit = competition.submission_limit
    for claimed in range(GOOD_CORRECT, GOOD_CORRECT - limit, -1):
        proof = prove(competition, users.competitor, alices.committed, claimed=claimed)
        assert _post(api, "competitor", competition, proof.to_bytes()).status_code == 201
    # ... does not reset the count: the limit is per competitor.
    proof = prove(competition, users.competitor, second.committed).to_bytes()
    response = _post(api, "competitor", competition, proof)
    assert response.status_code == 409
    assert response.json()["code"] == "submission_limit_reached"
    assert Submission.objects.count() == limit


def test_proofs_only_for_your_own_commitment(api, clock, users, competition, alices):
    clock.set(AFTER)
    proof = prove(competition, users.competitor, alices.committed).to_bytes()
    response = _post(api, "other", competition, proof, commitment=alices.record.pk)
    assert response.status_code == 403 and response.json()["code"] == "not_your_commitment"
    unknown = _post(api, "competitor", competition, proof, commitment=alices.record.pk + 999)
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_commitment"
    assert not Submission.objects.exists()


def test_submission_list_visibility(api, clock, users, competition, alices):
    clock.set(AFTER)
    proof = prove(competition, users.competitor, alices.committed).to_bytes()
    submission_id = _post(api, "competitor", competition, proof).json()["id"]
    url = f"/api/competitions/{competition.slug}/submissions/"
    assert [s["id"] for s in api("anonymous").get(url).json()["results"]] == [submission_id]
    assert api("other").get(url, {"mine": 1}).json()["results"] == []
    Submission.objects.filter(pk=submission_id).update(hidden=True)
    assert api("anonymous").get(url).json()["results"] == []
    assert [s["id"] for s in api("competitor").get(url).json()["results"]] == [submission_id]
    assert [s["id"] for s in api("staff").get(url).json()["results"]] == [submission_id]
    assert default_storage.exists(Submission.objects.get().proof.name)


# ------------------------------------------------------------------ cost before checks


def test_points_are_decoded_by_the_worker_not_on_upload(
    api, clock, users, competition, alices, media_root
):
    """A file with the right header and length is stored as it is: its points are decoded
    once, by the verification worker (which rejects this one), never in the web process."""
    clock.set(AFTER)
    raw = prove(competition, users.competitor, alices.committed).to_bytes()
    corrupt = _corrupt_point(raw)
    response = _post(api, "competitor", competition, corrupt)
    assert response.status_code == 201, response.json()
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.QUEUED
    with submission.proof.open("rb") as f:
        assert f.read() == corrupt
    assert submission.proof_size == len(corrupt)


def test_no_commitment_is_refused_before_the_body_is_read(api, clock, users, competition, alices):
    clock.set(AFTER)
    junk = b"\x97" * (2 << 20)  # 2 MiB: parsed, it would go to a temporary file
    response = _post(api, "other", competition, junk)
    assert response.status_code == 403
    assert response.json()["code"] == "not_your_commitment"
    assert "you have none in this competition" in response.json()["detail"]
    # The request body was never touched: no parsing, no temporary file, no hashing.
    assert response.wsgi_request.environ["wsgi.input"].read_started is False
    assert not Submission.objects.exists()


def test_oversized_request_is_refused_from_its_length_before_parsing(
    api, clock, users, competition, alices, settings
):
    clock.set(AFTER)
    settings.MAX_PROOF_BYTES = 200_000
    big = b"\x00" * (settings.MAX_PROOF_BYTES + submission_service.MULTIPART_ALLOWANCE)
    response = _post(api, "competitor", competition, big)
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    assert response.wsgi_request.environ["wsgi.input"].read_started is False
    assert not Submission.objects.exists()


def test_ownership_is_checked_before_the_body(
    api, clock, users, competition, alices, register, media_root
):
    """Bob has a commitment of his own; Alice's file with a corrupt body gets 403 (whose
    commitment it is), not a verdict on its body."""
    register(competition, users.other)
    clock.set(AFTER)
    raw = prove(competition, users.competitor, alices.committed).to_bytes()
    response = _post(api, "other", competition, _corrupt_point(raw))
    assert response.status_code == 403 and response.json()["code"] == "not_your_commitment"
    assert not Submission.objects.exists()
    assert stored_files(media_root) == [competition.test_set_file.name]


def test_header_reader_agrees_with_the_proof_library(users, competition, alices):
    proof = prove(competition, users.competitor, alices.committed)
    raw = proof.to_bytes()
    header = proof_files.read_header(raw[: proof_files.PROOF_HEADER_BYTES])
    parsed = accuracy.AccuracyProof.from_bytes(raw)
    assert header.total_length == len(raw)
    assert header.body_length == len(parsed.proof)
    for name in (
        "competition_digest",
        "submitter_id",
        "architecture_digest",
        "commitment_digest",
        "claimed",
        "num_samples",
    ):
        assert getattr(header, name) == getattr(parsed, name), name
