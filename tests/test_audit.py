"""``zkarena audit`` end to end against a live site, and the organizer commands.

A competition with three competitors, each with a real commitment (registered before the
reveal) and a real proof (submitted after it, then marked verified as the worker would):
the audit re-verifies every entry from the site's files, recomputes the ranking and finds
it clean, online and offline from its archive. Then the site misbehaves: a stored proof
is changed, a claim is inflated, the published ranking is reordered; each is reported.
"""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.utils import timezone

from competitions.models import Competition, Submission, SubmissionStatus, User
from competitions.services import commitments as commitment_service
from competitions.services import competitions as competition_service
from competitions.services import submissions as submission_service
from tests.competitions.helpers import (
    commit,
    commitment_files,
    competition_input,
    npz_bytes,
    prove,
    sample_arrays,
    upload,
)
from tests.zkproofs.cli_helpers import run_cli

pytestmark = pytest.mark.django_db(transaction=True)
CLAIMS = {"alice": 18, "bob": 16, "carol": 17}  # the good model gets 18 of 20 right


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("ZKARENA_CONFIG", str(tmp_path / "home" / "config.json"))
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def contest() -> Competition:
    """Three verified entries with real proofs; the reveal an hour ago."""
    now = timezone.now()
    organizer = User.objects.create_user("olga", "olga@example.org", "pw", is_organizer=True)
    created = now - timedelta(days=2)
    comp = competition_service.create_competition(
        organizer=organizer,
        data=competition_input(slug="tiny", reveal_at=now - timedelta(hours=1),
                               proof_deadline=now + timedelta(days=1), submission_limit=3),
        now=created,
    )  # fmt: skip
    x, y = sample_arrays()
    comp = competition_service.upload_test_set(
        comp, by=organizer, upload=upload("test.npz", npz_bytes(x, y)), now=created
    )
    # Every commitment before the reveal (once a proof is taken the reveal is in the
    # commitment log, and nothing may follow it), then the proofs.
    registered = []
    for i, name in enumerate(CLAIMS):
        user = User.objects.create_user(name, f"{name}@example.org", "pw")
        committed = commit(comp, user)
        record = commitment_service.register_commitment(
            competition=comp, competitor=user, now=created + timedelta(minutes=i),
            **commitment_files(committed),
        )  # fmt: skip
        registered.append((user, committed, record))
    for i, ((_name, claim), (user, committed, record)) in enumerate(
        zip(CLAIMS.items(), registered, strict=True)
    ):
        proof = prove(comp, user, committed, claimed=claim)
        sub = submission_service.create_submission(
            competition=comp, competitor=user, commitment_id=record.pk,
            proof=upload("proof.zkp", proof.to_bytes()), now=now - timedelta(minutes=30 - i),
        )  # fmt: skip
        # What the verification worker writes once the proof checks out.
        Submission.objects.filter(pk=sub.pk).update(
            status=SubmissionStatus.VERIFIED, proven_count=claim,
            verification_finished_at=now - timedelta(minutes=20 - i),
        )  # fmt: skip
    return comp


def _sub(name: str) -> Submission:
    return Submission.objects.get(competitor__username=name)


def test_audit_is_clean_online_and_from_its_archive(live_server, contest, tmp_path):
    archive = tmp_path / "tiny.zip"
    res = run_cli("audit", "tiny", "--url", live_server.url, "--bundle", archive,
                  "--jobs", "2", "--backend", "native")  # fmt: skip
    assert res.rc == 0, res
    assert "CLEAN: all 3 verified entries re-verify" in res.out
    for name in CLAIMS:
        assert f"#{_sub(name).pk} {name}: VALID, at least {CLAIMS[name]} correct" in res.out
    ranking = [line.split()[:3] for line in res.out.splitlines() if line[:1].isdigit()]
    assert ranking == [["1", "alice", "18/20"], ["2", "carol", "17/20"], ["3", "bob", "16/20"]]
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
    assert {"manifest.json", "test-set.npz"} <= names
    assert {f"proofs/submission-{_sub(n).pk}.zkp" for n in CLAIMS} <= names

    # Offline, from the archive alone (the site could be gone), with the default backend:
    # the pure-Python reference one.
    res = run_cli("audit", archive)
    assert res.rc == 0, res
    assert "reference backend" in res.out and "CLEAN" in res.out


def test_a_changed_stored_proof_is_reported(live_server, contest, tmp_path):
    bob = _sub("bob")
    # The stored file no longer matches the digest the site recorded when it was uploaded.
    with default_storage.open(bob.proof.name, "rb") as f:
        data = bytearray(f.read())
    data[-5] ^= 0x01
    default_storage.delete(bob.proof.name)
    default_storage.save(bob.proof.name, _content(bytes(data)))
    res = run_cli("audit", "tiny", "--url", live_server.url, "--backend", "native")
    assert res.rc == 1, res
    assert f"submission #{bob.pk}" in res.out and "DISCREPANCIES" in res.out
    assert "does not match the SHA-256" in res.out
    # bob's row has nothing verifiable behind it any more.
    assert "rank 3 (bob): no verifiable entry of this competitor supports it" in res.out

    # A site covering its tracks records the new digest too: the proof itself fails.
    Submission.objects.filter(pk=bob.pk).update(proof_sha256=_sha256(bytes(data)))
    res = run_cli("audit", "tiny", "--url", live_server.url, "--backend", "native")
    assert res.rc == 1, res
    assert f"#{bob.pk} bob: INVALID: the proof does not verify" in res.out


def test_an_inflated_claim_is_reported(live_server, contest):
    bob = _sub("bob")
    # The site ranks bob first with a claim his proof does not make.
    Submission.objects.filter(pk=bob.pk).update(claimed_count=19)
    res = run_cli("audit", "tiny", "--url", live_server.url, "--backend", "native")
    assert res.rc == 1, res
    assert f"#{bob.pk} bob: INVALID: the proof does not verify: the proof claims 16, the site " \
        "shows 19" in res.out
    assert "rank 1 (bob): no verifiable entry of this competitor supports it" in res.out


def test_a_reordered_ranking_is_reported(live_server, contest, tmp_path):
    archive = tmp_path / "tiny.zip"
    res = run_cli("audit", "tiny", "--url", live_server.url, "--bundle", archive,
                  "--backend", "native")  # fmt: skip
    assert res.rc == 0, res
    # The published leaderboard, as a dishonest site would serve it: carol above alice.
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "manifest.json":
                manifest = json.loads(data)
                rows = manifest["leaderboard"]["rows"]
                rows[0], rows[1] = rows[1], rows[0]
                rows[0]["rank"], rows[1]["rank"] = 1, 2
                data = json.dumps(manifest).encode()
            dst.writestr(item, data)
    res = run_cli("audit", tampered, "--backend", "native")
    assert res.rc == 1, res
    assert "the ranking differs from rank 1 on: expected alice, published carol" in res.out


def test_audit_refuses_a_file_that_is_no_archive(tmp_path):
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    res = run_cli("audit", bogus)
    assert res.rc == 2 and "not a zkarena audit archive" in res.err, res


def _content(data: bytes):
    from django.core.files.base import ContentFile

    return ContentFile(data)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ organizer commands


def test_organizer_commands(live_server, tmp_path, monkeypatch):
    User.objects.create_user("olga", "olga@example.org", "pw-olga-7", is_organizer=True)
    monkeypatch.setenv("ZKARENA_PASSWORD", "pw-olga-7")
    assert run_cli("login", live_server.url, "--username", "olga").rc == 0
    rules = tmp_path / "rules.md"
    rules.write_text("# Rules\n\nOne account per person.\n")
    reveal = (timezone.now() + timedelta(days=3)).isoformat()
    deadline = (timezone.now() + timedelta(days=10)).isoformat()
    res = run_cli(
        "competition", "create", "iris", "--title", "Iris", "--input-shape", "4",
        "--input-min", "0", "--input-max", "80", "--input-scale", "10", "--classes", "3",
        "--threshold", "9/10", "--max-parameters", "100", "--reveal-at", reveal,
        "--proof-deadline", deadline, "--rules-file", rules, "--licence", "CC BY 4.0",
    )  # fmt: skip
    assert res.rc == 0, res
    assert "created iris" in res.out and "a draft until its test set" in res.out
    comp = Competition.objects.get(slug="iris")
    assert comp.rules.startswith("# Rules") and comp.data_licence == "CC BY 4.0"
    assert comp.input_scale == 10

    # A CSV with a header row, as spreadsheets write it.
    x = np.array([[1, 20, 30, 40], [50, 6, 70, 8], [9, 10, 11, 80]])
    csv = tmp_path / "test.csv"
    csv.write_text("label,a,b,c,d\n" + "".join(
        f"{label},{','.join(map(str, row))}\n" for label, row in zip([0, 1, 2], x, strict=True)))
    res = run_cli("competition", "upload-test-set", "iris", csv)
    assert res.rc == 0, res
    assert "3 samples" in res.out
    comp.refresh_from_db()
    assert comp.test_set_num_samples == 3

    train = tmp_path / "train.npz"
    np.savez(train, x=x, y=np.array([0, 1, 2]))
    res = run_cli("competition", "upload-data", "iris", train, "--description", "x and y")
    assert res.rc == 0, res
    assert "published train.npz" in res.out
    assert comp.data_files.get().sha256 == _sha256(train.read_bytes())
    res = run_cli("competition", "upload-data", "iris", train)
    assert res.rc == 2 and "exists already" in res.err, res

    res = run_cli("competition", "show", "iris")
    assert res.rc == 0, res
    assert "phase:          open; commitments close in 2 days 23 h" in res.out
    assert "scale 10 (models see x / 10)" in res.out
    assert "train.npz" in res.out and "CC BY 4.0" in res.out

    # A competitor cannot create competitions: a clear refusal, exit 2.
    User.objects.create_user("alice", "alice@example.org", "pw-alice-7")
    monkeypatch.setenv("ZKARENA_PASSWORD", "pw-alice-7")
    assert run_cli("login", live_server.url, "--username", "alice").rc == 0
    res = run_cli(
        "competition", "create", "mine", "--title", "Mine", "--input-shape", "4",
        "--input-min", "0", "--input-max", "1", "--classes", "2", "--threshold", "1/2",
        "--max-parameters", "10", "--reveal-at", reveal, "--proof-deadline", deadline,
    )  # fmt: skip
    assert res.rc == 2 and "only organizers may create competitions" in res.err, res
