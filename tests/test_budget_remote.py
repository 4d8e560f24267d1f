"""The budget through the command line against a live site (issue 11): organizers set it with
``zkarena competition create`` and read it with ``show``; ``zkarena commit`` reads the site's
budget from the competition's spec, prints the model's cost against it and refuses a model
over it before anything is committed or uploaded."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import onnx
from django.utils import timezone

from competitions.models import Competition
from competitions.services import competitions as competition_service
from tests.competitions.helpers import competition_input, npz_bytes, upload
from tests.test_client_flow import _isolated, login, people  # noqa: F401 - fixtures
from tests.test_commit_remote import key_files
from tests.zkproofs.cli_helpers import run_cli
from tests.zkproofs.test_budget import _crafted_onnx
from zkproofs.competition import Budget


def test_organizers_set_and_read_the_budget(live_server, people, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ZKARENA_PASSWORD", "pw-olga")
    assert login(live_server.url, "olga").rc == 0
    reveal = (timezone.now() + timedelta(days=3)).isoformat()
    deadline = (timezone.now() + timedelta(days=10)).isoformat()
    common = ["--title", "Iris", "--input-shape", "4", "--input-min", "0", "--input-max", "80",
              "--classes", "3", "--threshold", "9/10", "--max-parameters", "100",
              "--reveal-at", reveal, "--proof-deadline", deadline]  # fmt: skip
    res = run_cli("competition", "create", "iris", *common, "--max-prove-seconds", "60",
                  "--max-verify-seconds", "3", "--max-proof-bytes", "2000000")  # fmt: skip
    assert res.rc == 0, res
    assert Competition.objects.get(slug="iris").budget == Budget(60, 3, 2_000_000)
    res = run_cli("competition", "show", "iris")
    assert res.rc == 0, res
    assert "budget:         60 s to prove, 3 s to verify, 2,000,000 bytes of proof" in res.out
    # Without the options, the site's defaults.
    res = run_cli("competition", "create", "iris-2", *common)
    assert res.rc == 0, res
    assert Competition.objects.get(slug="iris-2").max_prove_seconds == 1800
    res = run_cli("competition", "create", "iris-3", *common, "--max-verify-seconds", "0")
    assert res.rc == 2 and "max_verify_seconds" in res.err, res


def test_commit_refuses_a_model_over_the_sites_budget_before_uploading(
    live_server, people, tmp_path  # noqa: F811
):
    organizer, _ = people
    now = timezone.now()
    data = competition_input(slug="tight", input_shape=(1, 28, 28), input_min=0, input_max=255,
                             num_classes=10, max_parameters=5000, max_prove_seconds=3,
                             reveal_at=now + timedelta(minutes=10),
                             proof_deadline=now + timedelta(days=1))  # fmt: skip
    comp = competition_service.create_competition(organizer=organizer, data=data, now=now)
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 256, (20, 1, 28, 28)), np.arange(20) % 10
    comp = competition_service.upload_test_set(
        comp, by=organizer, upload=upload("test.npz", npz_bytes(x, y)), now=now
    )
    assert login(live_server.url).rc == 0
    model = tmp_path / "crafted.onnx"
    onnx.save(_crafted_onnx(), model)
    res = run_cli("commit", model, "--competition", "tight", "--yes")
    assert res.rc == 2, res
    assert "proof cost: about" in res.out
    assert "the competition's budget: 3 s to prove" in res.out  # the site's, not a default
    assert "over the competition's budget" in res.err and "(budget 3 s)" in res.err
    assert not comp.commitments.exists() and not key_files()
