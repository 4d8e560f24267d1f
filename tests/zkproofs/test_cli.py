"""The ``zkarena`` command line end to end (issue 3, "What it must show").

The organizer publishes a competition over scikit-learn's digits (360 test samples); a
competitor commits a logistic regression, an MLP and a small PyTorch Conv net exported to
ONNX, proves their accuracy and anyone verifies it. The proven count must equal the
reference evaluator's count for the model held in the key file, and every tampering must
be rejected with the documented exit code (0 valid, 1 invalid proof, 2 bad input).

Commands run in-process through ``zkproofs.cli.main`` (fast); the installed console script
runs as a real subprocess for ``--help`` and one ``verify``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from zkproofs import __version__, accuracy, formats
from zkproofs.competition import CompetitionSpec
from zkproofs.errors import VerificationError
from zkproofs.ml import datasets, evaluate
from zkproofs.params import get_params

from .cli_helpers import (
    Result,
    commitment_fields,
    digits_split,
    export_sklearn,
    fit_quietly,
    reference_count,
    rewrite_proof,
    run_cli,
    train_torch_conv,
    verified_count,
)

SUBMITTER = "3f0e6c2a-9b1d-4e57-8a42-5c6d7e8f9a01"
OTHER_SUBMITTER = "a1b2c3d4-0000-4000-8000-00000000beef"
ZKARENA = Path(sys.executable).with_name("zkarena")  # the venv's console script
HEADER_BYTES = 6 + 32 + 16 + 32 + 32 + 16  # AccuracyProof container before the proof


@dataclass(frozen=True)
class Arena:
    """One competition's files, in its own folder."""

    root: Path
    test: Path
    cal: Path
    competition: Path
    salt: Path
    x: np.ndarray
    y: np.ndarray
    init: Result

    @property
    def spec(self) -> CompetitionSpec:
        return CompetitionSpec.from_json(self.competition.read_text())


@dataclass(frozen=True)
class Submission:
    commitment: Path
    key: Path
    proof: Path
    commit: Result
    prove: Result


def new_arena(root: Path, x, y, x_cal, y_cal, threshold: str) -> Arena:
    test, cal, comp = root / "TEST.npz", root / "CAL.npz", root / "competition.json"
    datasets.save_npz(test, x, y)
    datasets.save_npz(cal, x_cal, y_cal)
    res = run_cli("competition", "init", "--test-set", test, "--classes", "10",
                  "--threshold", threshold, "--input-scale", "1", "--input-min", "0",
                  "--input-max", "16", "-o", comp)  # fmt: skip
    assert res.rc == 0, res.err
    return Arena(root, test, cal, comp, root / "competition.salt", x, y, res)


def commit(arena: Arena, model: Path, name: str, *extra: str) -> tuple[Path, Path, Result]:
    com, key = arena.root / f"{name}.json", arena.root / f"{name}.key"
    res = run_cli("commit", model, "--competition", arena.competition, "--calibration",
                  arena.cal, "--submitter", SUBMITTER, "-o", com, "--key", key, *extra)  # fmt: skip
    return com, key, res


def prove(arena: Arena, commitment: Path, key: Path, out: Path, *extra: str) -> Result:
    return run_cli("prove", "--competition", arena.competition, "--test-set", arena.test,
                   "--commitment", commitment, "--key", key, "--submitter", SUBMITTER,
                   "-o", out, *extra)  # fmt: skip


def verify_argv(
    arena: Arena,
    proof: Path,
    commitment: Path,
    *,
    submitter: str = SUBMITTER,
    competition: Path | None = None,
    test_set: Path | None = None,
    salt: Path | None = None,
    backend: str | None = None,
) -> list[str]:
    argv = ["verify", str(proof), "--competition", str(competition or arena.competition),
            "--test-set", str(test_set or arena.test), "--commitment", str(commitment),
            "--submitter", submitter]  # fmt: skip
    if salt is not None:  # by default: competition.salt next to competition.json
        argv += ["--salt-file", str(salt)]
    if backend is not None:
        argv += ["--backend", backend]
    return argv


def verify(arena: Arena, proof: Path, commitment: Path, **kw) -> Result:
    return run_cli(*verify_argv(arena, proof, commitment, **kw))


def assert_invalid(res: Result) -> None:
    assert res.rc == 1, res
    assert res.out.startswith("INVALID: "), res
    assert "VALID: the committed" not in res.out


def assert_bad_input(res: Result, *needles: str, quiet: bool = True) -> None:
    assert res.rc == 2, res
    assert res.out == "" or not quiet, res
    assert res.err.startswith("zkarena: error: "), res
    for needle in needles:
        assert needle in res.err, res


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def digits():
    return digits_split()


@pytest.fixture(scope="module")
def arena(tmp_path_factory, digits) -> Arena:
    root = tmp_path_factory.mktemp("digits")
    return new_arena(root, digits.x_test, digits.y_test, digits.x_train, digits.y_train, "0.9")


@pytest.fixture(scope="module")
def onnx_models(arena, digits) -> dict[str, Path]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    models = {
        "lr": LogisticRegression(max_iter=200),
        # Same shape as "lr", other weights: the "model B" of the key-swap tests.
        "lr_b": LogisticRegression(max_iter=200, C=0.01),
        "mlp": MLPClassifier(hidden_layer_sizes=(32,), random_state=0, max_iter=100),
    }
    return {
        name: export_sklearn(fit_quietly(m, digits.x_train, digits.y_train),
                             arena.root / f"{name}.onnx")
        for name, m in models.items()
    }  # fmt: skip


def submit(arena: Arena, model: Path, name: str) -> Submission:
    com, key, c = commit(arena, model, name)
    assert c.rc == 0, c.err
    proof = arena.root / f"{name}.zkp"
    p = prove(arena, com, key, proof)
    assert p.rc == 0, p.err
    return Submission(com, key, proof, c, p)


@pytest.fixture(scope="module")
def lr(arena, onnx_models) -> Submission:
    return submit(arena, onnx_models["lr"], "lr")


@pytest.fixture(scope="module")
def mlp(arena, onnx_models) -> Submission:
    return submit(arena, onnx_models["mlp"], "mlp")


@pytest.fixture(scope="module")
def lr_b(arena, onnx_models) -> tuple[Path, Path]:
    """Model B committed (not proved): its key holds other weights of the same shape."""
    com, key, res = commit(arena, onnx_models["lr_b"], "lr_b")
    assert res.rc == 0, res.err
    return com, key


# ------------------------------------------------------------------ happy paths


def test_competition_init_publishes_only_a_digest(arena, digits):
    spec = arena.spec
    assert spec.num_samples == 360 and spec.num_classes == 10
    assert spec.input_shape == (64,) and spec.input_range == (0, 16) and spec.input_scale == 1
    assert spec.threshold == Fraction(9, 10) and spec.required_correct == 324
    assert "at least 324 correct" in arena.init.out
    salt = bytes.fromhex(arena.salt.read_text().strip())
    assert spec.test_set_digest == datasets.salted_digest(digits.x_test, digits.y_test, salt)
    assert arena.salt.stat().st_mode & 0o777 == 0o600
    assert salt.hex() not in arena.competition.read_text()


@pytest.mark.parametrize("name", ["lr", "mlp"])
def test_commit_writes_a_private_key_and_a_public_commitment(request, arena, name):
    sub: Submission = request.getfixturevalue(name)
    assert sub.key.stat().st_mode & 0o777 == 0o600
    key = sub.key.read_bytes()
    text = sub.commitment.read_text()
    f = commitment_fields(sub.commitment)
    # No key material in the public file: neither the key file, nor any of its row blinds.
    assert base64.b64encode(key).decode() not in text and key.hex() not in text
    opening = formats.decode_opening(get_params("native"), key)
    blinds = key[len(key) - formats.S * len(opening.blinds) :]
    assert len(blinds) == formats.S * len(opening.blinds) > 0
    public = [f["architecture"], f["commitment"], f["knowledge_proof"]]
    for i in range(0, len(blinds), formats.S):
        chunk = blinds[i : i + formats.S]
        assert chunk.hex() not in text
        assert not any(chunk in blob for blob in public)
    doc, spec = f["doc"], arena.spec
    assert doc["submitter_id"] == SUBMITTER
    assert doc["competition_digest"] == spec.digest().hex()
    assert doc["commitment_digest"] == hashlib.sha256(f["commitment"]).hexdigest()
    # The commitment's proof of knowledge holds for this submitter, and only for it.
    info = accuracy.verify_commitment(spec, SUBMITTER, f["architecture"], f["commitment"],
                                      f["knowledge_proof"])  # fmt: skip
    assert info.parameter_count == doc["parameters"] == {"lr": 650, "mlp": 2410}[name]
    with pytest.raises(VerificationError):
        accuracy.verify_commitment(spec, OTHER_SUBMITTER, f["architecture"], f["commitment"],
                                   f["knowledge_proof"])  # fmt: skip


def test_commit_never_overwrites_a_key_file(arena, onnx_models, lr):
    before = lr.key.read_bytes()
    res = run_cli("commit", onnx_models["lr"], "--competition", arena.competition,
                  "--calibration", arena.cal, "--submitter", SUBMITTER,
                  "-o", arena.root / "overwrite.json", "--key", lr.key)  # fmt: skip
    assert_bad_input(res, "exists", "--force", quiet=False)  # after the quantization report
    assert lr.key.read_bytes() == before
    assert not (arena.root / "overwrite.json").exists()


@pytest.mark.parametrize("name", ["lr", "mlp"])
def test_proven_count_equals_the_reference_evaluator(request, arena, name):
    sub: Submission = request.getfixturevalue(name)
    res = verify(arena, sub.proof, sub.commitment)
    assert res.rc == 0, res
    c, n = verified_count(res.out)
    assert n == 360
    assert c == reference_count(sub.commitment, sub.key, arena.x, arena.y)
    assert sub.prove.out.startswith(f"proved {c}/360 correct")
    assert c >= arena.spec.required_correct and "; meets the threshold 9/10" in res.out
    container = accuracy.AccuracyProof.from_bytes(sub.proof.read_bytes())
    assert (container.claimed, container.num_samples) == (c, 360)
    assert container.submitter_id == uuid.UUID(SUBMITTER)
    assert container.competition_digest == arena.spec.digest()


def test_prove_is_quiet_off_a_terminal(lr):
    assert lr.prove.err == ""  # the progress bar draws only on a TTY


def test_pytorch_conv_model_end_to_end(tmp_path, digits):
    n = 40
    arena = new_arena(tmp_path, digits.x_test[:n].reshape(n, 1, 8, 8), digits.y_test[:n],
                      digits.x_train.reshape(-1, 1, 8, 8), digits.y_train, "1/2")  # fmt: skip
    assert arena.spec.input_shape == (1, 8, 8) and arena.spec.num_samples == n
    model = tmp_path / "conv.onnx"
    train_torch_conv(digits.x_train, digits.y_train, model)
    com, key, c = commit(arena, model, "conv")
    assert c.rc == 0, c.err
    assert "conv2d" in c.out and "maxpool2d" in c.out and "dense" in c.out
    proof = tmp_path / "conv.zkp"
    p = prove(arena, com, key, proof)
    assert p.rc == 0, p.err
    res = verify(arena, proof, com)
    assert res.rc == 0, res
    count, total = verified_count(res.out)
    assert total == n
    assert count == reference_count(com, key, arena.x, arena.y)
    assert count >= n // 2  # a trained net, not chance


# ------------------------------------------------------------------ tampering


def test_verify_rejects_another_submitter(arena, lr):
    assert_invalid(verify(arena, lr.proof, lr.commitment, submitter=OTHER_SUBMITTER))


def test_verify_rejects_another_competition_over_the_same_test_set(arena, lr, tmp_path):
    doc = json.loads(arena.competition.read_text())
    doc["competition_id"] = "0badc0de-0000-4000-8000-000000000000"
    stale = tmp_path / "stale.json"  # edited id, old digest field: a malformed spec
    stale.write_text(json.dumps(doc))
    res = verify(arena, lr.proof, lr.commitment, competition=stale, salt=arena.salt)
    assert_bad_input(res, "digest field does not match")

    other = CompetitionSpec.from_json(json.dumps({k: v for k, v in doc.items() if k != "digest"}))
    doc["digest"] = other.digest().hex()
    assert other.test_set_digest == arena.spec.test_set_digest
    assert other.digest() != arena.spec.digest()
    path = tmp_path / "other-competition.json"
    path.write_text(json.dumps(doc))
    assert_invalid(verify(arena, lr.proof, lr.commitment, competition=path, salt=arena.salt))


def test_verify_refuses_another_test_set(arena, lr, tmp_path):
    y = arena.y.copy()
    y[0] = (y[0] + 1) % 10  # one label changed
    other = tmp_path / "OTHER.npz"
    datasets.save_npz(other, arena.x, y)
    res = verify(arena, lr.proof, lr.commitment, test_set=other)
    assert_bad_input(res, "does not match the published digest")
    # The right test set under another salt is another test set too.
    salt = tmp_path / "other.salt"
    salt.write_text("00" * datasets.SALT_BYTES + "\n")
    res = verify(arena, lr.proof, lr.commitment, salt=salt)
    assert_bad_input(res, "does not match the published digest")


@pytest.mark.parametrize("delta", [+1, -1], ids=["higher", "lower"])
def test_verify_rejects_another_claimed_count(arena, lr, tmp_path, delta):
    claimed = accuracy.AccuracyProof.from_bytes(lr.proof.read_bytes()).claimed
    forged = rewrite_proof(lr.proof, tmp_path / "forged.zkp", claimed=claimed + delta)
    assert_invalid(verify(arena, forged, lr.commitment))


def test_verify_rejects_another_commitment_to_the_same_model(arena, onnx_models, lr):
    com, _, res = commit(arena, onnx_models["lr"], "lr-again")
    assert res.rc == 0, res.err
    old, new = commitment_fields(lr.commitment), commitment_fields(com)
    assert new["architecture"] == old["architecture"]
    assert new["commitment"] != old["commitment"]  # fresh blinds
    assert_invalid(verify(arena, lr.proof, com))


def splice_architecture(target: Path, donor: Path, out: Path) -> Path:
    doc = json.loads(target.read_text())
    donor_doc = json.loads(donor.read_text())
    for field in ("architecture", "architecture_digest", "architecture_summary", "parameters"):
        doc[field] = donor_doc[field]
    out.write_text(json.dumps(doc))
    return out


def test_verify_rejects_a_spliced_architecture_of_another_size(arena, lr, mlp, tmp_path):
    """The MLP's architecture (2410 parameters) in the LR's commitment file. Exit 1, not 2:
    the file is well-formed and the architecture fits the competition (inputs [64], 10
    classes); it just does not describe the committed vector (11 rows of weights where
    the LR has 3), so the claim is false rather than the input unusable."""
    spliced = splice_architecture(lr.commitment, mlp.commitment, tmp_path / "spliced.json")
    res = verify(arena, lr.proof, spliced)
    assert_invalid(res)
    assert "row count" in res.out or "architecture" in res.out


def test_verify_rejects_a_spliced_architecture_of_the_same_size(arena, onnx_models, lr, tmp_path):
    """The same LR quantized to 6-bit weights: same 650 parameters and row count, another
    architecture digest (other weight width, so other range checks). Everything decodes and
    fits; the proof was made for another statement and schedule: exit 1."""
    com6, _, res = commit(arena, onnx_models["lr"], "lr-6bit", "--weight-bits", "6")
    assert res.rc == 0, res.err
    a8, a6 = commitment_fields(lr.commitment), commitment_fields(com6)
    assert a8["doc"]["parameters"] == a6["doc"]["parameters"] == 650
    assert a8["doc"]["architecture_digest"] != a6["doc"]["architecture_digest"]
    spliced = splice_architecture(lr.commitment, com6, tmp_path / "spliced.json")
    assert_invalid(verify(arena, lr.proof, spliced))


def test_prove_refuses_a_key_for_other_weights(arena, lr, lr_b, tmp_path):
    """Model B's key file with model A's commitment: same shape, other weights. The key does
    not open the commitment, so `prove` must stop with a clear error (exit 2) instead of
    spending the proving time on a proof every verifier rejects."""
    com_b, key_b = lr_b
    arch = commitment_fields(lr.commitment)["architecture"]
    model_a, _ = accuracy.model_from_opening(arch, lr.key.read_bytes())
    model_b, _ = accuracy.model_from_opening(arch, key_b.read_bytes())
    assert not np.array_equal(model_a.flat_weights(), model_b.flat_weights())
    out = tmp_path / "swapped.zkp"
    res = prove(arena, lr.commitment, key_b, out)
    assert_bad_input(res, "commitment")
    assert not out.exists()


def test_forced_proof_for_other_weights_is_rejected(arena, lr, lr_b, tmp_path):
    """A prover that skips `prove`'s own checks: the witness holds model B's weights while
    the commitment and its opening are model A's. The proof's weight link fails: verify
    rejects it (exit 1)."""
    from zkproofs.layered import prover as layered_prover
    from zkproofs.layered.schedule import with_data
    from zkproofs.params import get_wide_params

    spec, params = arena.spec, get_params("native")
    salt = bytes.fromhex(arena.salt.read_text().strip())
    x, y = accuracy.check_test_set(spec, arena.x, arena.y, salt)
    f = commitment_fields(lr.commitment)
    model_b, _ = accuracy.model_from_opening(f["architecture"], lr_b[1].read_bytes())
    _, opening_a = accuracy.model_from_opening(f["architecture"], lr.key.read_bytes())
    arch = model_b.architecture
    c = evaluate.count_correct(model_b, x, y)
    wide = get_wide_params("native")
    sched = with_data(accuracy.layered_schedule(arch, len(x), c), x, y)
    body = layered_prover.prove(
        wide, sched, model_b, x, accuracy.statement_bytes(spec, SUBMITTER, arch.digest(), c),
        formats.decode_weight_commitment(params, f["commitment"]), opening_a,
    )  # fmt: skip
    container = accuracy.AccuracyProof(
        spec.digest(), uuid.UUID(SUBMITTER), arch.digest(),
        hashlib.sha256(f["commitment"]).digest(), c, len(x),
        accuracy._layered_header(wide) + body,
    )  # fmt: skip
    path = tmp_path / "forced.zkp"
    path.write_bytes(container.to_bytes())
    assert_invalid(verify(arena, path, lr.commitment))


CORRUPTIONS = {
    "truncated": lambda d: d[:-100],
    "header-only": lambda d: d[:HEADER_BYTES],
    "ten-bytes": lambda d: d[:10],
    "empty": lambda d: b"",
    "magic": lambda d: b"ZKAX" + d[4:],
    "version": lambda d: d[:4] + b"\x00\x07" + d[6:],
    "appended": lambda d: d + b"\x00",
    "first-point": lambda d: flip(d, HEADER_BYTES + 20),
    "middle": lambda d: flip(d, len(d) // 2),
    "last-byte": lambda d: flip(d, len(d) - 1),
}


def flip(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_verify_rejects_a_truncated_or_corrupted_proof(arena, lr, tmp_path, how):
    bad = tmp_path / "bad.zkp"
    bad.write_bytes(CORRUPTIONS[how](lr.proof.read_bytes()))
    assert_invalid(verify(arena, bad, lr.commitment))


def test_verify_names_a_retired_protocol_version(arena, lr, tmp_path):
    """A proof file of version 1 (protocol v1, retired) is refused by name, with what to
    do, before anything inside it is read."""
    old = tmp_path / "v1.zkp"
    data = lr.proof.read_bytes()
    old.write_bytes(data[:4] + b"\x00\x01" + data[6:])
    res = verify(arena, old, lr.commitment)
    assert_invalid(res)
    assert "version 1" in res.out and "protocol v1" in res.out and "prove again" in res.out
    with pytest.raises(formats.FormatError, match="version 1, protocol v1"):
        accuracy.AccuracyProof.from_bytes(old.read_bytes())


HEADER_FIELDS = {
    "competition_digest": hashlib.sha256(b"another competition").digest(),
    "submitter_id": uuid.UUID(OTHER_SUBMITTER),
    "architecture_digest": hashlib.sha256(b"another architecture").digest(),
    "commitment_digest": hashlib.sha256(b"another commitment").digest(),
    "num_samples": 359,
}


@pytest.mark.parametrize("field", list(HEADER_FIELDS))
def test_verify_rejects_a_proof_file_naming_another_context(arena, lr, tmp_path, field):
    """The proof file names the competition, submitter, architecture, commitment and N it
    was made for. A file whose header names other ones is not the proof for these inputs
    (the site files proofs by that header), so verify must not call it VALID."""
    bad = rewrite_proof(lr.proof, tmp_path / "relabelled.zkp", **{field: HEADER_FIELDS[field]})
    assert_invalid(verify(arena, bad, lr.commitment))


@pytest.mark.parametrize("missing", ["proof", "commitment", "test-set", "competition", "salt"])
def test_verify_reports_a_missing_file(arena, lr, tmp_path, missing):
    gone = tmp_path / f"missing-{missing}"
    paths = {
        "proof": lr.proof, "commitment": lr.commitment, "test_set": arena.test,
        "competition": arena.competition, "salt": arena.salt,
    }  # fmt: skip
    paths[missing.replace("-", "_")] = gone
    proof, com = paths.pop("proof"), paths.pop("commitment")
    res = verify(arena, proof, com, **paths)
    assert_bad_input(res, "cannot read", str(gone))


def test_prove_reports_a_missing_key_file(arena, lr, tmp_path):
    out = tmp_path / "p.zkp"
    res = prove(arena, lr.commitment, tmp_path / "nokey.key", out)
    assert_bad_input(res, "cannot read the key file", "nokey.key")
    assert not out.exists()


def test_prove_refuses_a_claim_above_the_true_count(arena, lr, tmp_path):
    true = reference_count(lr.commitment, lr.key, arena.x, arena.y)
    out = tmp_path / "overclaim.zkp"
    res = prove(arena, lr.commitment, lr.key, out, "--claim", str(true + 1))
    assert_bad_input(res, f"labels {true} samples correctly", f"claimed {true + 1}")
    assert not out.exists()


# ------------------------------------------------------------------ reference backend


def test_reference_backend_reaches_the_same_verdict(arena, lr):
    native = verify(arena, lr.proof, lr.commitment)
    reference = verify(arena, lr.proof, lr.commitment, backend="reference")
    assert native.rc == reference.rc == 0, (native, reference)
    assert verified_count(reference.out) == verified_count(native.out)
    assert "[reference backend," in reference.out and "[native backend," in native.out


def test_reference_backend_rejects_a_tampered_proof(arena, lr, tmp_path):
    claimed = accuracy.AccuracyProof.from_bytes(lr.proof.read_bytes()).claimed
    forged = rewrite_proof(lr.proof, tmp_path / "forged.zkp", claimed=claimed - 1)
    assert_invalid(verify(arena, forged, lr.commitment, backend="reference"))


# ------------------------------------------------------------------ help and usage


HELP = {
    "zkarena": ([], ["competition", "commit", "prove", "verify", "bench", "--version"]),
    "competition": (["competition"], ["init"]),
    "init": (["competition", "init"],
             ["--test-set", "--classes", "--threshold", "--input-scale", "--input-min",
              "--input-max", "--id", "--output", "--salt-out", "--force"]),
    "commit": (["commit"], ["MODEL.onnx", "--competition", "--submitter", "--calibration",
                            "--weight-bits", "--dry-run", "--yes", "--output", "--key",
                            "--force"]),
    "prove": (["prove"], ["--competition", "--test-set", "--salt-file", "--commitment", "--key",
                          "--submitter", "--claim", "--output"]),
    "verify": (["verify"], ["proof.zkp", "--competition", "--test-set", "--salt-file",
                            "--commitment", "--submitter", "--backend", "native", "reference"]),
    "bench": (["bench"], ["--workloads", "--samples", "--json"]),
}  # fmt: skip


@pytest.mark.parametrize("command", list(HELP))
def test_help_mentions_every_option(command):
    argv, words = HELP[command]
    res = run_cli(*argv, "--help")
    assert res.rc == 0, res
    assert res.out.startswith(f"usage: zkarena {' '.join(argv)}".rstrip())
    for word in words:
        assert word in res.out, f"{word} missing from `zkarena {' '.join(argv)} --help`"


def test_version():
    res = run_cli("--version")
    assert (res.rc, res.out.strip()) == (0, f"zkarena {__version__}")


@pytest.mark.parametrize(
    "argv", [["competition", "init"], [], ["competition"], ["verify"], ["frobnicate"]]
)
def test_missing_arguments_are_usage_errors(argv):
    res = run_cli(*argv)
    assert res.rc == 2, res
    assert res.err.startswith("usage: zkarena") and "error:" in res.err
    if argv == ["competition", "init"]:
        assert "required" in res.err and "--test-set" in res.err


# ------------------------------------------------------------------ console script


def run_console(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert ZKARENA.is_file() and os.access(ZKARENA, os.X_OK), f"{ZKARENA} is not installed"
    return subprocess.run(
        [str(ZKARENA), *map(str, args)], cwd=cwd, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=120, check=False,
    )  # fmt: skip


def test_console_script_help(tmp_path):
    out = run_console("--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: zkarena")
    for command in ("competition", "commit", "prove", "verify", "bench"):
        assert command in out.stdout


def test_console_script_verify(arena, lr):
    out = run_console(*verify_argv(arena, lr.proof, lr.commitment), cwd=arena.root)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    c, n = verified_count(out.stdout)
    assert (c, n) == (reference_count(lr.commitment, lr.key, arena.x, arena.y), 360)
    tampered = run_console(*verify_argv(arena, lr.proof, lr.commitment,
                                        submitter=OTHER_SUBMITTER), cwd=arena.root)  # fmt: skip
    assert tampered.returncode == 1 and tampered.stdout.startswith("INVALID: "), tampered


# ------------------------------------------------------------------ bench


BENCH_KEYS = {"workload", "samples", "protocol", "prove_s", "prove_peak_mb", "verify_cmd_s",
              "verify_s", "verify_peak_mb", "proof_bytes", "correct", "verified"}  # fmt: skip


def test_bench_prints_one_json_object_per_run(monkeypatch):
    # The measurement runs in a child process; one BLAS thread there keeps its scikit-learn
    # training from oversubscribing the two cores (16 s instead of 3 s under load).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    res = run_cli("bench", "--workloads", "digits-lr", "--samples", "10", "--json")
    assert res.rc == 0, res.err
    lines = res.out.strip().splitlines()
    assert len(lines) == 1, res.out
    row = json.loads(lines[0])
    assert row.keys() >= BENCH_KEYS
    assert (row["workload"], row["samples"], row["verified"], row["protocol"]) == (
        "digits-lr", 10, True, 2)
    assert 0 <= row["correct"] <= 10
    assert row["proof_bytes"] > 0 and row["prove_peak_mb"] > 0 and row["verify_s"] > 0


def test_bench_refuses_unknown_workloads_and_sizes():
    assert run_cli("bench", "--workloads", "imagenet").rc == 2
    assert run_cli("bench", "--workloads", "digits-lr", "--samples", "361").rc == 2
    assert run_cli("bench", "--workloads", "digits-lr", "--samples", "x").rc == 2


# ------------------------------------------------------------------ what offline VALID means


def _receipt_file(arena: Arena, sub: Submission, path: Path, when, key) -> Path:
    """A site's receipt for this commitment, as `zkarena commit` saves it with the record."""
    from datetime import UTC, datetime

    from zkproofs.receipts import Receipt

    fields = commitment_fields(sub.commitment)
    rec = Receipt(arena.spec.competition_id, uuid.UUID(SUBMITTER),
                  _arch_digest(fields["architecture"]),
                  hashlib.sha256(fields["commitment"]).digest(), when)  # fmt: skip
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    stamp = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    receipt = {"timestamp_us": stamp, "signature": key.sign(rec).hex(),
               "public_key": key.public_key().hex()}  # fmt: skip
    path.write_text(json.dumps({"commitment_id": 7, "receipt": receipt}))
    return path


def _arch_digest(architecture: bytes) -> bytes:
    from zkproofs.ml.architecture import Architecture

    return Architecture.from_bytes(architecture).digest()


def test_offline_verify_says_no_receipt_was_checked(arena, lr):
    res = verify(arena, lr.proof, lr.commitment)
    assert res.rc == 0, res
    assert res.out.startswith("VALID: ")
    assert "commitment: its proof of knowledge verifies" in res.out
    assert "NOTE: no receipt was checked" in res.out and "before the reveal" in res.out


def test_offline_verify_checks_a_receipt(arena, lr, tmp_path):
    from datetime import UTC, datetime

    from zkproofs.receipts import ReceiptSigningKey

    site_key = ReceiptSigningKey.generate()
    committed = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)
    receipt = _receipt_file(arena, lr, tmp_path / "commitment-7.json", committed, site_key)
    argv = verify_argv(arena, lr.proof, lr.commitment)
    key = ["--receipt-key", site_key.public_key().hex()]

    ok = run_cli(*argv, "--receipt", receipt, *key, "--reveal-at", "2031-01-02T00:00:00Z")
    assert ok.rc == 0, ok
    assert "receipt: signed by the key" in ok.out and "before the reveal" in ok.out
    assert "NOTE" not in ok.out

    late = run_cli(*argv, "--receipt", receipt, *key, "--reveal-at", "2031-01-01T12:00:00Z")
    assert_invalid(late)
    assert "not before the reveal" in late.out

    other_key = ReceiptSigningKey.generate().public_key().hex()
    forged = run_cli(*argv, "--receipt", receipt, "--receipt-key", other_key)
    assert_invalid(forged)
    assert "receipt" in forged.out

    unpinned = run_cli(*argv, "--receipt", receipt)
    assert unpinned.rc == 0 and "taken from the receipt file itself" in unpinned.out
    assert "was not compared with the reveal" in unpinned.out

    assert_bad_input(run_cli(*argv, "--reveal-at", "2031-01-02T00:00:00Z"), "--receipt")


def test_offline_verify_checks_the_commitments_proof_of_knowledge(arena, lr, mlp, tmp_path):
    doc = json.loads(lr.commitment.read_text())
    doc["knowledge_proof"] = json.loads(mlp.commitment.read_text())["knowledge_proof"]
    swapped = tmp_path / "swapped-pok.json"
    swapped.write_text(json.dumps(doc))
    res = verify(arena, lr.proof, swapped)
    assert_invalid(res)
    assert "proof of knowledge" in res.out
