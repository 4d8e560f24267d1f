"""Creating competitions and uploading test sets: validation, the salted digest, storage,
and refusals that leave nothing behind."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from django.core.files.storage import default_storage

from competitions.models import Competition
from competitions.services import competitions as competition_service
from competitions.services.errors import Conflict, InvalidInput, NotPermitted
from zkproofs.ml import datasets

from .helpers import (
    CREATED,
    DEADLINE,
    NUM_SAMPLES,
    REVEAL,
    SECOND,
    competition_input,
    csv_bytes,
    npz_bytes,
    salted_digest_of,
    sample_arrays,
    stored_files,
    upload,
)

pytestmark = pytest.mark.django_db

CREATE_BODY = {
    "slug": "new-one",
    "title": "New one",
    "input_shape": [4],
    "input_min": 0,
    "input_max": 15,
    "input_scale": 1,
    "num_classes": 3,
    "threshold": "0.9",
    "max_parameters": 1000,
    "reveal_at": REVEAL.isoformat(),
    "proof_deadline": DEADLINE.isoformat(),
}


def test_competition_created_through_api_keeps_an_exact_threshold(api, clock):
    response = api("organizer").post("/api/competitions/", CREATE_BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["threshold"] == "9/10"
    assert body["phase"] == "draft" and body["test_set"] is None and body["spec"] is None
    stored = Competition.objects.get(slug="new-one")
    assert (stored.threshold_numerator, stored.threshold_denominator) == (9, 10)
    assert str(stored.uuid) == body["id"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"threshold": 0.9}, 400, "threshold"),  # a JSON number went through a float
        ({"threshold": "11/10"}, 400, "threshold"),
        ({"threshold": "0"}, 400, "threshold"),
        ({"input_shape": [1, 2, 3, 4]}, 400, "input_shape"),
        ({"input_min": 20}, 400, "input_max"),
        ({"reveal_at": (CREATED - SECOND).isoformat()}, 400, "reveal_at"),
        ({"proof_deadline": REVEAL.isoformat()}, 400, "proof_deadline"),
        ({"max_parameters": 1 << 30}, 400, "max_parameters"),
        ({"slug": "no spaces"}, 400, "slug"),
        # Past the 64-bit columns: a 500 on both databases before they were bounded.
        ({"input_scale": 1 << 63}, 400, "input_scale"),
        ({"input_scale": (1 << 32) + 1}, 400, "input_scale"),
        ({"threshold": "1/100000000000000000000000"}, 400, "threshold"),
        ({"threshold": "1e-30"}, 400, "threshold"),
        ({"threshold": "1e-99999999999"}, 400, "threshold"),  # 10**99999999999: never computed
        ({"threshold": "0.0000000000001"}, 400, "threshold"),  # 13 decimals
        ({"num_classes": 1 << 70}, 400, "num_classes"),
        ({"input_shape": [1 << 70]}, 400, "input_shape"),
    ],
)
def test_competition_creation_refusals(api, clock, change, status, field):
    response = api("organizer").post("/api/competitions/", {**CREATE_BODY, **change}, format="json")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body.get("errors", {}) or body.get("field") == field
    assert not Competition.objects.exists()


def test_slug_taken_is_a_conflict(api, clock, competition):
    response = api("organizer").post(
        "/api/competitions/", {**CREATE_BODY, "slug": competition.slug}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "slug_taken"


@pytest.mark.parametrize("fmt", ["npz", "csv"])
def test_upload_publishes_salted_digest_and_stores_canonical_npz(
    api, clock, draft, media_root, fmt
):
    x, y = sample_arrays()
    data = npz_bytes(x.astype(np.uint8), y.astype(np.int32)) if fmt == "npz" else csv_bytes(x, y)
    response = api("organizer").post(
        f"/api/competitions/{draft.slug}/test-set/",
        {"file": upload(f"mine.{fmt}", data), "sha256": hashlib.sha256(data).hexdigest()},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    draft.refresh_from_db()
    assert response.json()["phase"] == "open"
    assert draft.test_set_num_samples == NUM_SAMPLES
    assert len(draft.test_set_salt) == 64
    # The digest is SHA-256(salt ‖ canonical bytes), whatever dtype the file used.
    assert draft.test_set_digest == salted_digest_of(draft)
    assert draft.spec().test_set_digest.hex() == draft.test_set_digest
    # What is stored is the canonical npz, which loads back to the same arrays.
    assert stored_files(media_root) == [draft.test_set_file.name]
    with default_storage.open(draft.test_set_file.name) as f:
        stored = f.read()
    loaded = np.load(io.BytesIO(stored), allow_pickle=False)
    assert loaded["x"].dtype == np.int64
    assert np.array_equal(loaded["x"], x) and np.array_equal(loaded["y"], y)


def test_digest_is_salted(draft, users, clock):
    x, y = sample_arrays()
    competition_service.upload_test_set(
        draft, by=users.organizer, upload=upload("t.npz", npz_bytes(x, y)), now=CREATED
    )
    draft.refresh_from_db()
    plain = hashlib.sha256(datasets.canonical_bytes(x, y)).hexdigest()
    assert draft.test_set_digest != plain  # a guessed test set cannot be confirmed


def _pickled_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.array([{"a": 1}] * 2, dtype=object), y=np.zeros(2, dtype=np.int64))
    return buffer.getvalue()


def _negative_dimension_npz() -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i8", "fortran_order": False, "shape": (-1, 4)}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + bytes(1 << 20))
        zf.writestr("y.npy", npz_member(np.zeros(20, dtype=np.int64)))
    return buffer.getvalue()


def npz_member(arr) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, arr)
    return buffer.getvalue()


def _bad_uploads():
    x, y = sample_arrays()
    wide_x, _ = sample_arrays(width=5)
    return [
        ("wrong shape", "t.npz", npz_bytes(wide_x, y), {}, 400, "invalid_test_set"),
        ("wrong shape csv", "t.csv", csv_bytes(wide_x, y), {}, 400, "invalid_test_set"),
        ("label out of range", "t.npz", npz_bytes(x, y + 1), {}, 400, "invalid_test_set"),
        ("input out of range", "t.npz", npz_bytes(x + 1, y), {}, 400, "invalid_test_set"),
        ("float inputs", "t.npz", npz_bytes(x / 2, y), {}, 400, "invalid_test_set"),
        ("pickled objects", "t.npz", _pickled_npz(), {}, 400, "invalid_test_set"),
        ("not a zip", "t.npz", b"PK\x03\x04 garbage", {}, 400, "invalid_test_set"),
        ("negative dimension", "t.npz", _negative_dimension_npz(), {}, 400, "invalid_test_set"),
        ("csv field over 128 KiB", "t.csv", b"0,1,2,3,4\n1," + b"7" * 140_000 + b",1,1,1\n",
         {}, 400, "invalid_test_set"),
        ("unknown format", "t.json", b"[]", {}, 400, "invalid_test_set"),
        ("wrong digest", "t.npz", npz_bytes(x, y), {"sha256": "0" * 64}, 400, "digest_mismatch"),
    ]


@pytest.mark.parametrize(
    ("name", "data", "extra", "status", "code"),
    [case[1:] for case in _bad_uploads()],
    ids=[case[0] for case in _bad_uploads()],
)
def test_bad_test_set_uploads_change_nothing(
    api, clock, draft, media_root, name, data, extra, status, code
):
    response = api("organizer").post(
        f"/api/competitions/{draft.slug}/test-set/",
        {"file": upload(name, data), **extra},
        format="multipart",
    )
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    draft.refresh_from_db()
    assert not draft.has_test_set and draft.test_set_num_samples is None
    assert stored_files(media_root) == []


def test_oversized_test_set_is_refused_with_413(api, clock, draft, media_root, settings):
    x, y = sample_arrays()
    data = npz_bytes(x, y)
    settings.MAX_TEST_SET_BYTES = len(data) - 1
    response = api("organizer").post(
        f"/api/competitions/{draft.slug}/test-set/", {"file": upload("t.npz", data)}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    draft.refresh_from_db()
    assert not draft.has_test_set
    assert stored_files(media_root) == []


def test_decompressed_test_set_over_the_limit_is_refused_with_413(
    api, clock, draft, media_root, settings
):
    """A small compressed .npz whose arrays, stored as int64, exceed MAX_TEST_SET_BYTES."""
    n = 2000
    x = np.zeros((n, 4), dtype=np.uint8)
    y = np.zeros(n, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=x, y=y)
    settings.MAX_TEST_SET_BYTES = 40_000  # the file is ~1 KB; the stored arrays 80 KB
    assert len(buffer.getvalue()) < settings.MAX_TEST_SET_BYTES
    response = api("organizer").post(
        f"/api/competitions/{draft.slug}/test-set/",
        {"file": upload("t.npz", buffer.getvalue())},
        format="multipart",
    )
    assert response.status_code == 413, response.json()
    assert response.json()["code"] == "file_too_large"
    assert "once decompressed" in response.json()["detail"]
    draft.refresh_from_db()
    assert not draft.has_test_set
    assert stored_files(media_root) == []


def test_oversized_request_is_refused_before_parsing(api, clock, draft, media_root, settings):
    settings.MAX_REQUEST_BYTES = 1000
    response = api("organizer").post(
        f"/api/competitions/{draft.slug}/test-set/", {"file": upload("t.npz", b"x" * 5000)}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert stored_files(media_root) == []


def test_replacing_the_test_set_before_any_commitment(
    competition, users, media_root, django_capture_on_commit_callbacks
):
    first_name, first_digest = competition.test_set_file.name, competition.test_set_digest
    x, y = sample_arrays()
    with django_capture_on_commit_callbacks(execute=True):
        competition_service.upload_test_set(
            competition,
            by=users.organizer,
            upload=upload("t.csv", csv_bytes(x[::-1], y[::-1])),
            now=REVEAL - SECOND,
        )
    competition.refresh_from_db()
    assert competition.test_set_digest != first_digest
    # The replaced file is deleted once the new one is committed.
    assert stored_files(media_root) == [competition.test_set_file.name] != [first_name]


@pytest.mark.parametrize(
    ("when", "allowed"), [(REVEAL - SECOND, True), (REVEAL, False), (REVEAL + SECOND, False)]
)
def test_test_set_upload_closes_at_the_reveal(draft, users, when, allowed):
    x, y = sample_arrays()

    def call():
        return competition_service.upload_test_set(
            draft, by=users.organizer, upload=upload("t.npz", npz_bytes(x, y)), now=when
        )

    if allowed:
        assert call().has_test_set
    else:
        with pytest.raises(Conflict) as refused:
            call()
        assert refused.value.code == "test_set_locked"
        draft.refresh_from_db()
        assert not draft.has_test_set


def test_service_refuses_float_threshold_and_non_organizers(users):
    with pytest.raises(InvalidInput):
        competition_service.create_competition(
            organizer=users.organizer, data=competition_input(threshold=0.75), now=CREATED
        )
    with pytest.raises(NotPermitted):
        competition_service.create_competition(
            organizer=users.competitor, data=competition_input(), now=CREATED
        )
    assert not Competition.objects.exists()


def test_test_set_metadata_and_download_follow_the_reveal(api, clock, competition, tmp_path):
    url = f"/api/competitions/{competition.slug}/test-set/"
    clock.set(REVEAL - SECOND)
    before = api("anonymous").get(url).json()
    assert before["digest"] == competition.test_set_digest
    assert before["salt"] is None and before["download_url"] is None
    refused = api("competitor").get(url + "data/")
    assert refused.status_code == 403 and refused.json()["code"] == "not_revealed"

    clock.set(REVEAL + SECOND)
    after = api("anonymous").get(url).json()
    assert after["salt"] == competition.test_set_salt
    response = api("anonymous").get(url + "data/")
    assert response.status_code == 200
    # What a competitor does before proving: load the file, check the published digest.
    downloaded = tmp_path / "test-set.npz"
    downloaded.write_bytes(b"".join(response.streaming_content))
    x, y = datasets.load_npz(downloaded)
    digest = datasets.salted_digest(x, y, bytes.fromhex(after["salt"])).hex()
    assert digest == before["digest"]
