"""Helpers of the platform tests: the timeline, a small real test set, tiny architectures."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

from competitions.models import Competition
from competitions.services import competitions as competition_service
from zkproofs import accuracy
from zkproofs.ml import datasets
from zkproofs.ml.architecture import Architecture, Dense, QuantizedModel

# The timeline every test uses: created ten days before the reveal, proofs for a week after.
REVEAL = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
DEADLINE = REVEAL + timedelta(days=7)
CREATED = REVEAL - timedelta(days=10)
SECOND = timedelta(seconds=1)

INPUT_SHAPE = (4,)
INPUT_RANGE = (0, 15)
NUM_CLASSES = 3
NUM_SAMPLES = 20


# The model competitors commit to: logit j is input feature j (argmax of the first three).
GOOD_WEIGHTS = np.eye(NUM_CLASSES, INPUT_SHAPE[0], dtype=np.int64)
GOOD_CORRECT = NUM_SAMPLES - 2


def good_model(architecture: Architecture | None = None) -> QuantizedModel:
    arch = architecture or tiny_architecture()
    return QuantizedModel(
        arch, {"layers.0.weight": GOOD_WEIGHTS, "layers.0.bias": np.zeros(3, dtype=np.int64)}
    )


def sample_arrays(n: int = NUM_SAMPLES, width: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A small deterministic test set within the declared range and classes, labelled so
    that the good model gets all but two samples right (18 of 20, above the 3/4 threshold)."""
    x = (np.arange(n * width, dtype=np.int64).reshape(n, width) * 7 + 3) % 16
    y = np.argmax(x[:, :NUM_CLASSES], axis=1).astype(np.int64)
    y[:2] = (y[:2] + 1) % NUM_CLASSES
    return x, y


def npz_bytes(x, y) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    return buffer.getvalue()


def csv_bytes(x, y) -> bytes:
    lines = [
        ",".join(str(v) for v in (int(label), *row.ravel()))
        for row, label in zip(x, y, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def tiny_architecture(
    shape=INPUT_SHAPE, rng=INPUT_RANGE, classes=NUM_CLASSES, hidden: int | None = None
):
    """Dense 4→3 (15 parameters), or 4→hidden→ReLU→3 with ``hidden``."""
    if hidden is None:
        layers = (Dense(shape[0], classes, weight_bits=8, bias_bits=16),)
    else:
        layers = (
            Dense(shape[0], hidden, weight_bits=8, bias_bits=16, shift=2, relu=True),
            Dense(hidden, classes, weight_bits=8, bias_bits=16),
        )
    return Architecture(shape, rng, layers)


def stored_files(root: Path) -> list[str]:
    """Every file under the media folder, relative: "nothing written" means []."""
    if not root.exists():
        return []
    return sorted(
        str(Path(dirpath, name).relative_to(root))
        for dirpath, _, names in os.walk(root)
        for name in names
    )


def competition_input(**overrides) -> competition_service.CompetitionInput:
    values = {
        "slug": "digits",
        "title": "Tiny digits",
        "description": "Classify four-pixel images.\nBe kind.",
        "input_shape": INPUT_SHAPE,
        "input_min": INPUT_RANGE[0],
        "input_max": INPUT_RANGE[1],
        "input_scale": 1,
        "num_classes": NUM_CLASSES,
        "threshold": "3/4",
        "max_parameters": 100,
        "max_layers": None,
        "commitment_cap": 2,
        "submission_limit": 2,
        "reveal_at": REVEAL,
        "proof_deadline": DEADLINE,
    }
    values.update(overrides)
    return competition_service.CompetitionInput(**values)


def salted_digest_of(competition: Competition) -> str:
    x, y = sample_arrays()
    return datasets.salted_digest(x, y, bytes.fromhex(competition.test_set_salt)).hex()


def commitment_row(competition, competitor, created_at, tag: str):
    """A commitment record written straight to the table, for read-side tests (leaderboard,
    pages) that need many rows; the upload path is tested with real commitments."""
    from competitions.models import ModelCommitment

    arch = tiny_architecture().to_bytes()
    raw = b"ZKCW-test-row-" + tag.encode()
    return ModelCommitment(
        competition=competition,
        competitor=competitor,
        architecture=arch,
        architecture_digest=hashlib.sha256(arch).hexdigest(),
        parameter_count=15,
        weight_rows=1,
        commitment=raw,
        commitment_digest=hashlib.sha256(raw).hexdigest(),
        knowledge_proof=b"",
        created_at=created_at,
        receipt_signature=b"",
        receipt_public_key="",
    )


def submission_row(commitment, claimed_count, status, *, created_at, finished_at=None, **extra):
    from competitions.models import Submission

    digest = hashlib.sha256(
        f"{commitment.commitment_digest}:{claimed_count}:{created_at}:{extra}".encode()
    ).hexdigest()
    return Submission(
        competition_id=commitment.competition_id,
        competitor_id=commitment.competitor_id,
        commitment=commitment,
        claimed_count=claimed_count,
        proof=f"proofs/test/{digest}.zkproof",
        proof_sha256=digest,
        proof_size=1000,
        status=status,
        created_at=created_at,
        verification_finished_at=finished_at,
        **extra,
    )


def commit(competition, user, model: QuantizedModel | None = None) -> accuracy.CommittedModel:
    """A real commitment (fresh blinds each time) bound to this competition and account."""
    return accuracy.commit_model(model or good_model(), competition.spec(), user.uuid)


def commitment_files(committed: accuracy.CommittedModel, **replace: bytes) -> dict:
    parts = {
        "architecture": committed.architecture,
        "commitment": committed.commitment,
        "knowledge_proof": committed.knowledge_proof,
        **replace,
    }
    return {name: upload(f"{name}.bin", data) for name, data in parts.items()}


def prove(competition, user, committed, claimed: int | None = None) -> accuracy.AccuracyProof:
    """A real accuracy proof, as `zkarena prove` makes it after the reveal."""
    x, y = sample_arrays()
    return accuracy.prove_accuracy(
        competition.spec(),
        x,
        y,
        bytes.fromhex(competition.test_set_salt),
        user.uuid,
        committed.architecture,
        committed.commitment,
        committed.opening,
        claimed=claimed,
    )
