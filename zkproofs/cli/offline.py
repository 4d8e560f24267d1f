"""Offline commands: files only, no site (``competition init``; ``commit``, ``prove``,
``verify`` with a competition.json)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from .. import accuracy
from ..competition import CompetitionSpec, SpecError, parse_threshold
from ..formats import FormatError
from ..ml import datasets
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    commitment_document,
    default_salt_path,
    load_commitment,
    load_salt,
    load_spec,
    load_test_set,
    parse_submitter,
    write_private,
)
from .model import confirm_commit, quantized_model
from .output import verify_and_report
from .progress import ProgressBar
from .remote import commit_remote, prove_remote, verify_remote


def cmd_competition_init(args) -> int:
    x, y = load_test_set(args.test_set)
    if args.classes < 2:
        raise UsageError("--classes must be at least 2")
    if int(y.max()) >= args.classes:
        raise UsageError(f"labels go up to {int(y.max())}; --classes {args.classes} is too few")
    # The domain is the organizer's declaration, never read off the hidden test set: its
    # minimum and maximum would otherwise be published before the reveal.
    lo, hi = args.input_min, args.input_max
    if lo > hi:
        raise UsageError(f"--input-min {lo} is above --input-max {hi}")
    if int(x.min()) < lo or int(x.max()) > hi:
        raise UsageError(
            f"some test inputs lie outside the declared domain [{lo}, {hi}]: clip or rescale "
            f"the test set, or declare a wider domain"
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
          f"{spec.num_classes} classes, inputs {list(spec.input_shape)}: integers in "
          f"[{lo}, {hi}] at scale {spec.input_scale} (real value = x / {spec.input_scale}), "
          f"threshold {spec.threshold} (at least {spec.required_correct} correct)")
    print(f"wrote {args.output} (public) and {salt_path} (keep secret until the reveal)")
    return EXIT_OK


def require_offline(args, command: str, *names: str) -> None:
    """Options required in the offline mode only: a usage error (argparse's, exit 2)."""
    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) in (None, "")]
    if missing:
        args.subparser.error(f"offline `{command}` needs the arguments {', '.join(missing)}")


def cmd_commit(args) -> int:
    if not Path(args.competition).is_file():
        return commit_remote(args)
    if args.dry_run:
        quantized_model(args, load_spec(args.competition))
        print("dry run: nothing committed, no file written")
        return EXIT_OK
    require_offline(args, "commit", "submitter", "output", "key")
    spec = load_spec(args.competition)
    submitter = parse_submitter(args.submitter)
    for path in (args.key, args.output):
        if Path(path).exists() and not args.force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")
    model, report = quantized_model(args, spec)
    confirm_commit(args, report)
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
    if not Path(args.competition).is_file():
        return prove_remote(args)
    require_offline(args, "prove", "test_set", "commitment", "key", "submitter", "output")
    spec = load_spec(args.competition)
    submitter = parse_submitter(args.submitter)
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
    if args.submission is not None:
        if args.proof is not None:
            args.subparser.error("give either a proof file or --submission ID, not both")
        return verify_remote(args)
    if args.proof is None:
        args.subparser.error("give a proof file (offline) or --submission ID (from a site)")
    require_offline(args, "verify", "competition", "test_set", "commitment", "submitter")
    args.backend = args.backend or "native"
    spec = load_spec(args.competition)
    submitter = parse_submitter(args.submitter)
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
        accuracy.check_test_set(spec, x, y, salt)
    except accuracy.TestSetError as exc:
        raise UsageError(str(exc)) from None
    return verify_and_report(spec, x, y, salt, submitter, com["architecture"],
                              com["commitment"], container, args.backend)
