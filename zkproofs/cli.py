"""The ``zkarena`` command line.

Offline commands (files only, no site): ``competition init``, ``commit``, ``prove``,
``verify`` and ``bench``. Exit codes: 0 success (for ``verify``: the proof is valid),
1 the proof is invalid, 2 bad input (unreadable files, wrong shapes, a test set that does
not match its digest, …).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

import numpy as np

from . import __version__, accuracy
from .competition import CompetitionSpec, SpecError, parse_threshold
from .errors import VerificationError
from .formats import FormatError
from .ml import datasets
from .progress import ProgressBar

COMMITMENT_FILE_VERSION = 1
EXIT_OK, EXIT_INVALID, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported on stderr with exit code 2."""


# ------------------------------------------------------------------ files


def _read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None


def load_spec(path: str) -> CompetitionSpec:
    try:
        return CompetitionSpec.from_json(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except SpecError as exc:
        raise UsageError(f"{path}: {exc}") from None


def default_salt_path(competition_path: str) -> Path:
    p = Path(competition_path)
    return p.with_name(p.stem + ".salt")


def load_salt(path: str | Path) -> bytes:
    try:
        text = Path(path).read_text().strip()
        salt = bytes.fromhex(text)
    except OSError as exc:
        raise UsageError(
            f"cannot read the test-set salt {path}: {exc.strerror} (the organizer publishes it "
            "with the test set at the reveal; pass it with --salt-file)"
        ) from None
    except ValueError:
        raise UsageError(f"{path} does not hold a hex salt") from None
    if len(salt) != datasets.SALT_BYTES:
        raise UsageError(f"{path}: a salt is {datasets.SALT_BYTES} bytes")
    return salt


def load_test_set(path: str):
    try:
        if path.endswith(".csv"):
            return datasets.load_csv(path)
        return datasets.load_npz(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except datasets.DatasetError as exc:
        raise UsageError(f"{path}: {exc}") from None


def write_private(path: str, data: bytes, force: bool) -> None:
    """Owner-only file (0600), never silently overwritten: a key file holds the weights."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists; pass --force to overwrite it") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(obj: dict, key: str, path: str) -> bytes:
    try:
        return base64.b64decode(obj[key], validate=True)
    except (KeyError, ValueError, TypeError):
        raise UsageError(f"{path}: missing or malformed field {key!r}") from None


def commitment_document(spec, submitter, committed: accuracy.CommittedModel, arch) -> dict:
    return {
        "version": COMMITMENT_FILE_VERSION,
        "competition_id": str(spec.competition_id),
        "competition_digest": spec.digest().hex(),
        "submitter_id": str(submitter),
        "architecture": _b64(committed.architecture),
        "architecture_digest": arch.digest().hex(),
        "architecture_summary": arch.describe(),
        "parameters": arch.weight_count,
        "commitment": _b64(committed.commitment),
        "commitment_digest": committed.commitment_digest.hex(),
        "knowledge_proof": _b64(committed.knowledge_proof),
    }


def load_commitment(path: str) -> dict:
    doc = _read_json(path)
    if doc.get("version") != COMMITMENT_FILE_VERSION:
        raise UsageError(f"{path}: unsupported commitment file version {doc.get('version')}")
    return {
        "architecture": _unb64(doc, "architecture", path),
        "commitment": _unb64(doc, "commitment", path),
        "knowledge_proof": _unb64(doc, "knowledge_proof", path),
        "submitter_id": doc.get("submitter_id"),
    }


def _submitter(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise UsageError(f"the submitter id must be a UUID, got {text!r}") from None


# ------------------------------------------------------------------ commands


def cmd_competition_init(args) -> int:
    x, y = load_test_set(args.test_set)
    if args.classes < 2:
        raise UsageError("--classes must be at least 2")
    if int(y.max()) >= args.classes:
        raise UsageError(f"labels go up to {int(y.max())}; --classes {args.classes} is too few")
    lo = int(x.min()) if args.input_min is None else args.input_min
    hi = int(x.max()) if args.input_max is None else args.input_max
    if int(x.min()) < lo or int(x.max()) > hi:
        raise UsageError(
            f"test inputs lie in [{int(x.min())}, {int(x.max())}], outside [{lo}, {hi}]"
        )
    salt = datasets.new_salt()
    try:
        spec = CompetitionSpec(
            competition_id=uuid.UUID(args.id) if args.id else uuid.uuid4(),
            test_set_digest=datasets.salted_digest(x, y, salt),
            num_samples=len(x),
            num_classes=args.classes,
            input_shape=tuple(int(d) for d in x.shape[1:]),
            input_scale=args.input_scale,
            threshold=parse_threshold(args.threshold),
            input_range=(lo, hi),
        )
    except (SpecError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    salt_path = Path(args.salt_out) if args.salt_out else default_salt_path(args.output)
    Path(args.output).write_text(spec.to_json() + "\n")
    write_private(str(salt_path), (salt.hex() + "\n").encode(), args.force)
    print(f"competition {spec.competition_id}: {spec.num_samples} samples, "
          f"{spec.num_classes} classes, inputs {list(spec.input_shape)} in [{lo}, {hi}], "
          f"threshold {spec.threshold} (at least {spec.required_correct} correct)")
    print(f"wrote {args.output} (public) and {salt_path} (keep secret until the reveal)")
    return EXIT_OK


def _calibration(args, spec):
    if args.calibration:
        try:
            return datasets.load_npz(args.calibration, input_shape=tuple(spec.input_shape),
                                     num_classes=spec.num_classes,
                                     input_range=tuple(spec.input_range))
        except datasets.DatasetError as exc:
            raise UsageError(f"{args.calibration}: {exc}") from None
    # No data: spread inputs over the declared range (derived from a hash, not secret).
    print("note: no --calibration data; calibrating on synthetic inputs spread over the "
          "input range (real training data gives better shifts)", file=sys.stderr)
    n, size = 256, int(np.prod(spec.input_shape))
    raw = b"".join(hashlib.sha256(b"zkarena/calibration" + i.to_bytes(4, "big")).digest()
                   for i in range((n * size * 4) // 32 + 1))
    words = np.frombuffer(raw[: n * size * 4], dtype="<u4").astype(np.int64)
    lo, hi = spec.input_range
    x = lo + words % (hi - lo + 1)
    return x.reshape(n, *spec.input_shape), None


def cmd_commit(args) -> int:
    from .ml.onnx_import import OnnxImportError, load_onnx
    from .ml.quantize import QuantizationError, quantize

    spec = load_spec(args.competition)
    submitter = _submitter(args.submitter)
    for path in (args.key, args.output):
        if Path(path).exists() and not args.force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")
    try:
        float_model = load_onnx(args.model)
    except OSError as exc:
        raise UsageError(f"cannot read {args.model}: {exc.strerror}") from None
    except OnnxImportError as exc:
        raise UsageError(f"{args.model}: {exc}") from None
    x_cal, y_cal = _calibration(args, spec)
    try:
        model, report = quantize(float_model, x_cal, y_cal, input_range=tuple(spec.input_range),
                                 weight_bits=args.weight_bits)
    except (QuantizationError, ValueError) as exc:
        raise UsageError(f"quantization failed: {exc}") from None
    print(report.summary())
    try:
        committed = accuracy.commit_model(model, spec, submitter)
    except accuracy.CommitmentError as exc:
        raise UsageError(str(exc)) from None
    arch = model.architecture
    write_private(args.key, committed.opening, args.force)
    doc = commitment_document(spec, submitter, committed, arch)
    Path(args.output).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"committed {arch.weight_count} parameters ({len(committed.commitment)} bytes); "
          f"commitment {committed.commitment_digest.hex()[:16]}…")
    print(f"wrote {args.output} (public) and {args.key} (secret: never upload it)")
    return EXIT_OK


def cmd_prove(args) -> int:
    spec = load_spec(args.competition)
    submitter = _submitter(args.submitter)
    x, y = load_test_set(args.test_set)
    salt = load_salt(args.salt_file or default_salt_path(args.competition))
    com = load_commitment(args.commitment)
    try:
        opening = Path(args.key).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the key file {args.key}: {exc.strerror}") from None
    bar = ProgressBar()
    try:
        result = accuracy.prove_accuracy(
            spec, x, y, salt, submitter, com["architecture"], com["commitment"], opening,
            claimed=args.claim, progress=bar,
        )
    except (accuracy.TestSetError, accuracy.CommitmentError, FormatError, ValueError) as exc:
        bar.close()
        raise UsageError(str(exc)) from None
    Path(args.output).write_bytes(result.to_bytes())
    pct = 100 * result.claimed / result.num_samples
    print(f"proved {result.claimed}/{result.num_samples} correct ({pct:.2f}%); "
          f"wrote {args.output} ({len(result.proof)} bytes)")
    return EXIT_OK


def cmd_verify(args) -> int:
    spec = load_spec(args.competition)
    submitter = _submitter(args.submitter)
    x, y = load_test_set(args.test_set)
    salt = load_salt(args.salt_file or default_salt_path(args.competition))
    com = load_commitment(args.commitment)
    try:
        container = accuracy.AccuracyProof.from_bytes(Path(args.proof).read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read {args.proof}: {exc.strerror}") from None
    except FormatError as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    try:
        container.check_context(spec, submitter, com["architecture"], com["commitment"])
        report = accuracy.verify_accuracy(
            spec, x, y, salt, submitter, com["architecture"], com["commitment"],
            container.claimed, container.proof, backend=args.backend,
        )
    except accuracy.TestSetError as exc:
        raise UsageError(str(exc)) from None
    except (VerificationError, FormatError, accuracy.CommitmentError, ValueError) as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    pct = 100 * report.correct / report.num_samples
    verdict = "meets" if report.meets_threshold else "does NOT meet"
    print(f"VALID: the committed model labels at least {report.correct}/{report.num_samples} "
          f"test samples correctly ({pct:.2f}%); {verdict} the threshold {spec.threshold} "
          f"[{args.backend} backend, {report.seconds:.2f} s]")
    return EXIT_OK


def cmd_bench(args) -> int:
    from . import bench

    return bench.main(args)


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zkarena",
        description="Commit to a hidden model and prove its accuracy in zero knowledge.",
    )
    p.add_argument("--version", action="version", version=f"zkarena {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    comp = sub.add_parser("competition", help="organizer commands")
    comp_sub = comp.add_subparsers(dest="competition_command", metavar="ACTION", required=True)
    init = comp_sub.add_parser(
        "init", help="describe a competition from its test set (publishes only a digest)"
    )
    init.add_argument("--test-set", required=True, help="TEST.npz with integer x and y, or CSV")
    init.add_argument("--classes", type=int, required=True, help="number of classes K")
    init.add_argument("--threshold", required=True, help="accuracy threshold, e.g. 0.9 or 9/10")
    init.add_argument("--input-scale", type=int, default=1,
                      help="integer steps per unit of the real input (default 1)")
    init.add_argument("--input-min", type=int, help="declared lowest input (default: data min)")
    init.add_argument("--input-max", type=int, help="declared highest input (default: data max)")
    init.add_argument("--id", help="competition UUID (default: a new one)")
    init.add_argument("-o", "--output", required=True, help="competition.json to write")
    init.add_argument("--salt-out", help="where to keep the salt (default: <output>.salt)")
    init.add_argument("--force", action="store_true", help="overwrite an existing salt file")
    init.set_defaults(func=cmd_competition_init)

    commit = sub.add_parser("commit", help="quantize an ONNX model and commit to its weights")
    commit.add_argument("model", help="MODEL.onnx")
    commit.add_argument("--competition", required=True, help="competition.json")
    commit.add_argument("--submitter", required=True, help="your account's UUID")
    commit.add_argument("--calibration", help="CAL.npz with integer x (and y) from your data")
    commit.add_argument("--weight-bits", type=int, default=8, help="weight width (default 8)")
    commit.add_argument("-o", "--output", required=True, help="commitment.json to write")
    commit.add_argument("--key", required=True, help="secret key file to write (mode 0600)")
    commit.add_argument("--force", action="store_true",
                        help="overwrite an existing key file and commitment file")
    commit.set_defaults(func=cmd_commit)

    prove = sub.add_parser("prove", help="prove the committed model's accuracy")
    prove.add_argument("--competition", required=True, help="competition.json")
    prove.add_argument("--test-set", required=True, help="the revealed TEST.npz")
    prove.add_argument("--salt-file", help="the revealed salt (default: <competition>.salt)")
    prove.add_argument("--commitment", required=True, help="commitment.json")
    prove.add_argument("--key", required=True, help="the secret key file from `commit`")
    prove.add_argument("--submitter", required=True, help="your account's UUID")
    prove.add_argument("--claim", type=int,
                       help="claimed number of correct predictions (default: all of them)")
    prove.add_argument("-o", "--output", required=True, help="proof.zkp to write")
    prove.set_defaults(func=cmd_prove)

    verify = sub.add_parser("verify", help="check a proof (exit 0 valid, 1 invalid, 2 bad input)")
    verify.add_argument("proof", help="proof.zkp")
    verify.add_argument("--competition", required=True, help="competition.json")
    verify.add_argument("--test-set", required=True, help="the revealed TEST.npz")
    verify.add_argument("--salt-file", help="the revealed salt (default: <competition>.salt)")
    verify.add_argument("--commitment", required=True, help="commitment.json")
    verify.add_argument("--submitter", required=True, help="the submitter's UUID")
    verify.add_argument("--backend", choices=["native", "reference"], default="native",
                        help="group arithmetic: native (arkworks) or reference (pure Python)")
    verify.set_defaults(func=cmd_verify)

    bench = sub.add_parser("bench", help="measure proving on digits models and synthetic R1CS")
    bench.add_argument("--models", default="lr,mlp", help="comma list of lr, mlp (default both)")
    bench.add_argument("--samples", default="10,100,360", help="comma list of N")
    bench.add_argument("--r1cs", default="",
                       help="log2 sizes of synthetic R1CS to measure instead, e.g. 12,14,16,18")
    bench.add_argument("--json", action="store_true", help="one JSON object per line")
    bench.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"zkarena: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("zkarena: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
