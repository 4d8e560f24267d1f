"""The ``zkarena`` command line against a live site (issue 6, "What it must show").

The commands run in-process through ``zkproofs.cli.main`` against pytest-django's
``live_server``; the competitor's config and key files live in a private folder
(``ZKARENA_CONFIG``). The whole flow uses a real Celery worker (tests/verifier/worker.py),
which shares the test database and so needs PostgreSQL (``make test``). The test controls
time only through the database, between phases, as the site enforces the timeline.

The demo (scripts/demo.py) runs end to end in a subprocess on its own embedded default.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from onnx import helper
from rest_framework.authtoken.models import Token

from competitions.models import Competition, Submission, User
from competitions.services import competitions as competition_service
from tests.competitions.helpers import competition_input, npz_bytes, sample_arrays, upload
from tests.zkproofs.cli_helpers import run_cli, verified_count
from tests.zkproofs.ml.helpers import graph_model, init

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-7"
UNDER_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("ZKARENA_CONFIG", str(tmp_path / "home" / "config.json"))
    monkeypatch.setenv("ZKARENA_PASSWORD", PASSWORD)
    cache.clear()  # throttle counters outlive a test
    yield
    cache.clear()


@pytest.fixture
def people(transactional_db):
    organizer = User.objects.create_user("olga", "olga@example.org", "pw-olga", is_organizer=True)
    alice = User.objects.create_user("alice", "alice@example.org", PASSWORD)
    return organizer, alice


def new_competition(organizer, *, reveal_in: timedelta, slug: str = "tiny") -> Competition:
    now = timezone.now()
    comp = competition_service.create_competition(
        organizer=organizer,
        data=competition_input(slug=slug, reveal_at=now + reveal_in,
                               proof_deadline=now + reveal_in + timedelta(days=1)),
        now=now - timedelta(seconds=1) if reveal_in.total_seconds() <= 0 else now,
    )  # fmt: skip
    x, y = sample_arrays()
    return competition_service.upload_test_set(
        comp, by=organizer, upload=upload("test.npz", npz_bytes(x, y)),
        now=now - timedelta(seconds=1) if reveal_in.total_seconds() <= 0 else now,
    )  # fmt: skip


def reveal_now(comp: Competition) -> None:
    # The only way a test moves time: the database, between phases (services read it).
    Competition.objects.filter(pk=comp.pk).update(reveal_at=timezone.now())


def identity_onnx(path: Path) -> Path:
    """Gemm 4→3 with W = [I | 0]: logit j is input feature j. On the shared sample test set
    it labels 18 of 20 correctly (tests/competitions/helpers.py), above the 3/4 threshold."""
    w = np.eye(3, 4)
    model = graph_model(
        [helper.make_node("Gemm", ["x", "w", "b"], ["logits"], transB=1)],
        [init("w", w), init("b", np.zeros(3))],
        (4,),
        ["logits"],
    )
    path.write_bytes(model.SerializeToString())
    return path


def calibration(path: Path) -> Path:
    x = (np.arange(400 * 4).reshape(400, 4) * 5 + 1) % 16
    np.savez(path, x=x.astype(np.int64), y=np.argmax(x[:, :3], axis=1).astype(np.int64))
    return path


def login(url: str, username: str = "alice"):
    return run_cli("login", url, "--username", username)


def commit(tmp_path: Path, slug: str = "tiny"):
    model = identity_onnx(tmp_path / "model.onnx")
    cal = calibration(tmp_path / "cal.npz")
    return run_cli("commit", model, "--competition", slug, "--calibration", cal)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


# ------------------------------------------------------------------ the whole flow


@pytest.fixture
def needs_postgresql(transactional_db):
    if connection.vendor != "postgresql" and not UNDER_CI:
        pytest.skip("a worker process shares the database: needs PostgreSQL (`make test`)")


def test_whole_flow_through_the_command_line(
    needs_postgresql, live_server, people, tmp_path, monkeypatch
):
    from tests.verifier.worker import running_worker

    organizer, alice = people
    comp = new_competition(organizer, reveal_in=timedelta(minutes=10))
    monkeypatch.chdir(tmp_path)

    res = login(live_server.url)
    assert res.rc == 0, res
    assert f"as alice (account id {alice.uuid})" in res.out
    config = Path(os.environ["ZKARENA_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"] == Token.objects.get(user=alice).key

    res = commit(tmp_path)
    assert res.rc == 0, res
    assert "committed 15 parameters to tiny as commitment #" in res.out
    assert "receipt signed by the site, checked" in res.out
    record = alice.commitments.get()
    assert f"as commitment #{record.pk}" in res.out
    key_files = list(config.parent.glob("sites/*/tiny/*.key"))
    assert len(key_files) == 1 and stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
    # The opening never left the machine: the site holds the commitment, not the key.
    assert key_files[0].read_bytes() not in bytes(record.commitment)

    # Before the reveal the site refuses the test set: a clear timeline error, exit 2.
    res = run_cli("prove", "--competition", "tiny")
    assert res.rc == 2, res
    assert "too early or too late" in res.err and "revealed at" in res.err
    assert not (tmp_path / "proof.zkp").exists()

    reveal_now(comp)
    res = run_cli("prove", "--competition", "tiny")
    assert res.rc == 0, res
    assert "test set: 20 samples match the salted digest published at the start" in res.out
    assert "proved 18/20 correct" in res.out
    assert (tmp_path / "proof.zkp").is_file()

    with running_worker():
        res = run_cli("submit", "proof.zkp", "--wait", "180")
    assert res.rc == 0, res
    submission = Submission.objects.get()
    assert submission.status == "verified", submission.verification_log
    assert f"submission #{submission.pk} in tiny by alice: claims 18/20, status verified" in res.out

    res = run_cli("leaderboard", "tiny")
    assert res.rc == 0, res
    rows = [line.split() for line in res.out.splitlines()[2:]]
    assert rows == [["1", "alice", "18/20", "90.00%", *rows[0][4:7], f"#{submission.pk}"]]

    res = run_cli("status", str(submission.pk))
    assert res.rc == 0 and "status verified" in res.out, res

    # Anyone, anonymously, re-verifies from the site's files with the reference backend.
    monkeypatch.setenv("ZKARENA_CONFIG", str(tmp_path / "stranger" / "config.json"))
    res = run_cli("verify", "--submission", str(submission.pk), "--url", live_server.url)
    assert res.rc == 0, res
    assert "receipt: signed by the site's key" in res.out
    assert "published at the start" in res.out
    assert verified_count(res.out.splitlines()[-1]) == (18, 20)
    assert "[reference backend" in res.out


# ------------------------------------------------------------------ errors


def test_wrong_password_is_refused(live_server, people):
    os.environ["ZKARENA_PASSWORD"] = "not-the-password"  # restored by monkeypatch
    res = login(live_server.url)
    assert res.rc == 2, res
    assert "wrong username or password" in res.err
    assert not Path(os.environ["ZKARENA_CONFIG"]).exists()


def test_password_from_stdin(live_server, people, monkeypatch):
    import io

    monkeypatch.delenv("ZKARENA_PASSWORD")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    res = login(live_server.url)
    assert res.rc == 0, res


def test_missing_and_expired_tokens(live_server, people, tmp_path):
    organizer, alice = people
    new_competition(organizer, reveal_in=timedelta(minutes=10))
    res = run_cli("status")
    assert res.rc == 2 and "not logged in: run `zkarena login URL` first" in res.err, res

    assert login(live_server.url).rc == 0
    Token.objects.filter(user=alice).delete()  # revoked (as a ban does) or expired
    res = commit(tmp_path)
    assert res.rc == 2, res
    assert "401" in res.err and "run `zkarena login URL`" in res.err
    assert not list(Path(os.environ["ZKARENA_CONFIG"]).parent.glob("sites/*/tiny/*.key"))


def test_unknown_competition(live_server, people, tmp_path):
    assert login(live_server.url).rc == 0
    res = run_cli("leaderboard", "no-such-thing")
    assert res.rc == 2 and "404" in res.err, res
    res = commit(tmp_path, slug="no-such-thing")
    assert res.rc == 2 and "404" in res.err, res
    res = run_cli("commit", tmp_path / "model.onnx", "--competition", "not a slug.json")
    assert res.rc == 2 and "neither an existing file nor a competition slug" in res.err, res


def test_commit_after_the_reveal_is_refused(live_server, people, tmp_path):
    organizer, _ = people
    comp = new_competition(organizer, reveal_in=timedelta(minutes=10))
    reveal_now(comp)
    assert login(live_server.url).rc == 0
    res = commit(tmp_path)
    assert res.rc == 2, res
    assert "too early or too late" in res.err and "takes commitments until the reveal" in res.err
    assert not comp.commitments.exists()


def test_prove_before_the_reveal_is_refused(live_server, people, tmp_path, monkeypatch):
    organizer, _ = people
    new_competition(organizer, reveal_in=timedelta(minutes=10))
    monkeypatch.chdir(tmp_path)
    assert login(live_server.url).rc == 0
    assert commit(tmp_path).rc == 0
    res = run_cli("prove", "--competition", "tiny")
    assert res.rc == 2, res
    assert "too early or too late" in res.err
    res = run_cli("submit", tmp_path / "missing.zkp")
    assert res.rc == 2 and "cannot read" in res.err, res


def test_server_down_is_a_network_error(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    res = run_cli("competitions", "--url", url, "--timeout", "5")
    assert res.rc == 3, res
    assert f"cannot reach {url}: connection refused" in res.err
    res = run_cli("verify", "--submission", "1", "--url", url)
    assert res.rc == 3, res
    res = run_cli("login", url, "--username", "alice")
    assert res.rc == 3 and "connection refused" in res.err, res


def test_help_documents_exit_codes():
    res = run_cli("--help")
    assert res.rc == 0
    for line in ("1  the proof is INVALID", "2  bad input or usage", "3  network or server"):
        assert line in res.out
    for command in ("login", "competitions", "submit", "status", "leaderboard"):
        assert command in res.out


# ------------------------------------------------------------------ the demo


def test_demo_end_to_end(tmp_path):
    var = tmp_path / "demo"
    env = {**os.environ, "DEMO_EXIT": "1"}
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "--var-dir", str(var), "--reveal-after", "45"],
        cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert "VALID: the committed model labels at least" in result.stdout
    board = json.loads((var / "leaderboard.json").read_text())
    assert sorted(r["competitor"] for r in board["rows"]) == ["alice", "bob"]
    assert all(r["num_samples"] == 360 and r["claimed_count"] >= 324 for r in board["rows"])
    # The site's own database agrees: two verified submissions, nothing else.
    with sqlite3.connect(var / "zkarena.sqlite3") as db:
        statuses = sorted(s for (s,) in db.execute("SELECT status FROM competitions_submission"))
    assert statuses == ["verified", "verified"]
    # Nothing secret was left readable by others: keys and configs are 0600.
    secrets_ = [*var.glob("*/config.json"), *var.glob("*/sites/*/digits/*.key")]
    assert len(secrets_) == 4
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in secrets_)
