"""Registering commitments: the commit phase, receipts, duplicates, limits and bad bytes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from competitions.models import ModelCommitment, Participation
from competitions.services import commitments as commitment_service
from competitions.services.errors import Conflict, InvalidInput, NotPermitted
from zkproofs import accuracy
from zkproofs.errors import VerificationError
from zkproofs.ml.architecture import Architecture, Dense, QuantizedModel
from zkproofs.receipts import Receipt, verify_receipt

from .helpers import (
    CREATED,
    REVEAL,
    SECOND,
    commit,
    commitment_files,
    good_model,
    npz_bytes,
    sample_arrays,
    stored_files,
    tiny_architecture,
    upload,
)

pytestmark = pytest.mark.django_db


def _post(api, role, competition, files):
    return api(role).post(
        f"/api/competitions/{competition.slug}/commitments/", files, format="multipart"
    )


def test_commitment_through_the_api_gets_a_receipt_that_verifies(api, clock, users, competition):
    clock.set(REVEAL - SECOND)
    committed = commit(competition, users.competitor)
    response = _post(api, "competitor", competition, commitment_files(committed))
    assert response.status_code == 201, response.json()
    body = response.json()
    record = ModelCommitment.objects.get()
    assert record.created_at == REVEAL - SECOND
    assert bytes(record.commitment) == committed.commitment
    assert bytes(record.architecture) == committed.architecture
    assert body["parameter_count"] == 15 and body["weight_rows"] == 1
    assert body["commitment"] == committed.commitment.hex()
    assert body["architecture_json"]["layers"][0]["type"] == "dense"
    assert Participation.objects.filter(competition=competition, competitor=users.competitor)

    # Offline check of commit-before-reveal: the site's published key signed this receipt.
    public_key = api("anonymous").get("/api/receipt-key/").json()["public_key"]
    receipt_json = body["receipt"]
    assert receipt_json["public_key"] == public_key
    receipt = Receipt(
        competition_id=competition.uuid,
        submitter_id=users.competitor.uuid,
        architecture_digest=bytes.fromhex(receipt_json["architecture_digest"]),
        commitment_digest=committed.commitment_digest,
        committed_at=REVEAL - SECOND,
    )
    assert receipt.canonical_bytes().hex() == receipt_json["message"]
    signature = bytes.fromhex(receipt_json["signature"])
    verify_receipt(bytes.fromhex(public_key), receipt, signature)
    # A receipt claiming another time (say, the reveal itself) does not verify.
    moved = Receipt(**{**receipt.__dict__, "committed_at": REVEAL})
    with pytest.raises(VerificationError):
        verify_receipt(bytes.fromhex(public_key), moved, signature)


@pytest.mark.parametrize(
    ("when", "accepted"),
    [(REVEAL - SECOND, True), (REVEAL, False), (REVEAL + SECOND, False)],
    ids=["1s-before-reveal", "at-reveal", "1s-after-reveal"],
)
def test_commit_phase_ends_at_the_reveal(competition, users, when, accepted):
    files = commitment_files(commit(competition, users.competitor))
    call = dict(competition=competition, competitor=users.competitor, now=when, **files)
    if accepted:
        assert commitment_service.register_commitment(**call).created_at == when
    else:
        with pytest.raises(Conflict) as refused:
            commitment_service.register_commitment(**call)
        assert refused.value.code == "commitments_closed"
        assert not ModelCommitment.objects.exists()


def test_no_commitment_before_the_test_set_is_published(api, clock, users, make_competition):
    draft = make_competition(with_test_set=False, slug="draft")
    # A draft has no spec to bind to; the competitor bytes come from an open competition.
    other = make_competition(slug="other")
    files = commitment_files(commit(other, users.competitor))
    # Through the API a draft does not even exist for a competitor...
    assert _post(api, "competitor", draft, files).status_code == 404
    # ...and the service refuses it on the timeline.
    with pytest.raises(Conflict) as refused:
        commitment_service.register_commitment(
            competition=draft, competitor=users.competitor, now=CREATED,
            **commitment_files(commit(other, users.competitor)),
        )  # fmt: skip
    assert refused.value.code == "not_open"
    assert not ModelCommitment.objects.exists()


def test_duplicate_commitments_are_refused_platform_wide(api, clock, users, make_competition):
    first = make_competition(slug="first")
    second = make_competition(slug="second")
    committed = commit(first, users.competitor)
    assert _post(api, "competitor", first, commitment_files(committed)).status_code == 201
    again = _post(api, "competitor", first, commitment_files(committed))
    elsewhere = _post(api, "competitor", second, commitment_files(committed))
    copied = _post(api, "other", first, commitment_files(committed))
    for response in (again, elsewhere, copied):
        assert response.status_code == 409
        assert response.json()["code"] == "duplicate_commitment"
    assert ModelCommitment.objects.count() == 1


def test_nobody_can_register_someone_elses_commitment(api, clock, users, competition):
    # Bob uploads a fresh commitment of Alice's (never registered): its proof of knowledge
    # is bound to Alice's id, so it fails for Bob.
    alices = commit(competition, users.competitor)
    response = _post(api, "other", competition, commitment_files(alices))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_commitment"
    assert not ModelCommitment.objects.exists()


def test_commitment_bound_to_another_competition_is_refused(api, clock, users, make_competition):
    target = make_competition(slug="target")
    other = make_competition(slug="other")
    response = _post(api, "competitor", target, commitment_files(commit(other, users.competitor)))
    assert response.status_code == 400 and response.json()["code"] == "invalid_commitment"
    assert not ModelCommitment.objects.exists()


def test_commitment_cap(api, clock, users, competition):
    for _ in range(competition.commitment_cap):
        files = commitment_files(commit(competition, users.competitor))
        assert _post(api, "competitor", competition, files).status_code == 201
    files = commitment_files(commit(competition, users.competitor))
    response = _post(api, "competitor", competition, files)
    assert response.status_code == 409 and response.json()["code"] == "commitment_cap_reached"
    assert ModelCommitment.objects.count() == competition.commitment_cap
    # The cap is per competitor: Bob still has his.
    files = commitment_files(commit(competition, users.other))
    assert _post(api, "other", competition, files).status_code == 201


def test_model_size_limits_from_the_architecture(api, clock, users, make_competition):
    # 4→24→ReLU→3 has 4·24+24+24·3+3 = 195 parameters, over the limit of 100.
    big = tiny_architecture(hidden=24)
    assert big.weight_count == 195
    model = QuantizedModel(
        big,
        {
            "layers.0.weight": np.ones((24, 4), dtype=np.int64),
            "layers.0.bias": np.zeros(24, dtype=np.int64),
            "layers.1.weight": np.ones((3, 24), dtype=np.int64),
            "layers.1.bias": np.zeros(3, dtype=np.int64),
        },
    )
    competition = make_competition(slug="small-models")
    response = _post(
        api,
        "competitor",
        competition,
        commitment_files(commit(competition, users.competitor, model)),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "model_too_large" and "195 parameters" in body["detail"]

    layered = make_competition(slug="one-layer", max_parameters=1000, max_layers=1)
    response = _post(
        api, "competitor", layered, commitment_files(commit(layered, users.competitor, model))
    )
    assert response.status_code == 400 and response.json()["code"] == "model_too_large"
    assert not ModelCommitment.objects.exists() and not Participation.objects.exists()


def test_architecture_must_fit_the_competition(api, clock, users, competition):
    # A model quantized for inputs in [0, 255] (the client-side check is bypassed by
    # committing against a spec that says so).
    wrong_range = Architecture((4,), (0, 255), (Dense(4, 3),))
    spec = dataclasses.replace(competition.spec(), input_range=(0, 255))
    committed = accuracy.commit_model(good_model(wrong_range), spec, users.competitor.uuid)
    response = _post(api, "competitor", competition, commitment_files(committed))
    assert response.status_code == 400
    assert response.json()["code"] == "architecture_mismatch"
    assert "input range" in response.json()["detail"]


def _bad_parts(committed):
    pok = bytearray(committed.knowledge_proof)
    pok[-1] ^= 1  # z_t changes: the proof of knowledge fails
    return {
        "truncated commitment": (
            {"commitment": committed.commitment[:-1]},
            400,
            "invalid_commitment",
        ),
        "commitment off the curve": (
            {"commitment": committed.commitment[:-48] + b"\x9f" + b"\x00" * 47},
            400,
            "invalid_commitment",
        ),
        "altered proof of knowledge": ({"knowledge_proof": bytes(pok)}, 400, "invalid_commitment"),
        "short proof of knowledge": ({"knowledge_proof": b"ZKPK"}, 400, "invalid_commitment"),
        "garbage architecture": (
            {"architecture": b"ZKAR\x00\x01junk"},
            400,
            "invalid_architecture",
        ),
        "empty commitment": ({"commitment": b""}, 400, "invalid"),
        "oversized commitment": (
            {"commitment": committed.commitment + b"\x00" * 4096},
            413,
            "file_too_large",
        ),
    }


BAD = [
    "truncated commitment",
    "commitment off the curve",
    "altered proof of knowledge",
    "short proof of knowledge",
    "garbage architecture",
    "empty commitment",
    "oversized commitment",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_commitment_uploads_change_nothing(api, clock, users, competition, media_root, case):
    committed = commit(competition, users.competitor)
    replace, status, code = _bad_parts(committed)[case]
    response = _post(api, "competitor", competition, commitment_files(committed, **replace))
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not ModelCommitment.objects.exists() and not Participation.objects.exists()
    assert stored_files(media_root) == [competition.test_set_file.name]


def test_organizer_cannot_compete(api, clock, users, competition):
    files = commitment_files(commit(competition, users.organizer))
    response = _post(api, "organizer", competition, files)
    assert response.status_code == 403
    assert response.json()["code"] == "organizer_cannot_compete"


def test_test_set_is_locked_once_a_commitment_exists(api, clock, users, competition, alices):
    x, y = sample_arrays()
    response = api("organizer").post(
        f"/api/competitions/{competition.slug}/test-set/",
        {"file": upload("t.npz", npz_bytes(x, y))},
    )
    assert response.status_code == 409 and response.json()["code"] == "test_set_locked"
    before = competition.test_set_digest
    competition.refresh_from_db()
    assert competition.test_set_digest == before


def test_service_refusals_raise_typed_errors(users, competition):
    committed = commit(competition, users.competitor)
    with pytest.raises(NotPermitted):
        commitment_service.register_commitment(
            competition=competition, competitor=users.organizer, now=CREATED,
            **commitment_files(committed),
        )  # fmt: skip
    with pytest.raises(InvalidInput):
        commitment_service.register_commitment(
            competition=competition, competitor=users.other, now=CREATED,
            **commitment_files(committed),
        )  # fmt: skip
    assert not ModelCommitment.objects.exists()
