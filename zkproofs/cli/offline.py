"""Offline commands: files only, no site (``competition init``; ``commit``, ``prove``,
``verify`` with a competition.json)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

from .. import accuracy
from ..client import ClientError
from ..competition import Budget, CompetitionSpec, SpecError, parse_threshold
from ..errors import VerificationError
from ..formats import FormatError
from ..ml import datasets
from ..receipts import verify_receipt
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
    read_json,
    write_private,
)
from .model import confirm_commit, quantized_model
from .output import utc_text, verify_and_report
from .progress import ProgressBar
from .remote import commit_remote, prove_remote, receipt_from_record, verify_remote


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
            budget=Budget(args.max_prove_seconds, args.max_verify_seconds,
                          args.max_proof_bytes),
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
    b = spec.budget
    print(f"budget per model at N = {spec.num_samples:,}: {b.prove_seconds:,} s to prove, "
          f"{b.verify_seconds:,} s to verify, {b.proof_bytes:,} bytes of proof")
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
    data = result.to_bytes()
    Path(args.output).write_bytes(data)
    pct = 100 * result.claimed / result.num_samples
    # The whole file's size, the number a site shows once the proof is submitted.
    print(f"proved {result.claimed}/{result.num_samples} correct ({pct:.2f}%); "
          f"wrote {args.output} ({len(data)} bytes)")
    return EXIT_OK


def cmd_verify(args) -> int:
    if args.submission is not None:
        if args.proof is not None:
            args.subparser.error("give either a proof file or --submission ID, not both")
        if args.receipt or args.reveal_at:
            args.subparser.error("--receipt and --reveal-at are for offline verification; "
                                 "--submission checks the site's receipt and reveal itself")
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
    reveal_at = _reveal_time(args.reveal_at)
    # The cheap checks of the commitment first: its proof of knowledge (bound to this
    # competition and submitter), and the receipt if one was given.
    try:
        accuracy.verify_commitment(spec, submitter, com["architecture"], com["commitment"],
                                   com["knowledge_proof"], backend=args.backend)
    except (VerificationError, FormatError, accuracy.CommitmentError, ValueError) as exc:
        print(f"INVALID: the commitment's proof of knowledge: {exc}")
        return EXIT_INVALID
    receipt_lines: list[str] = []
    if args.receipt:
        verdict = check_receipt_file(args, spec, submitter, com, reveal_at, receipt_lines)
        if verdict != EXIT_OK:
            return verdict
    elif args.receipt_key or reveal_at:
        raise UsageError("--receipt-key and --reveal-at check a receipt: pass --receipt FILE")
    verdict = verify_and_report(spec, x, y, salt, submitter, com["architecture"],
                                com["commitment"], container, args.backend)
    if verdict != EXIT_OK:
        return verdict
    print("commitment: its proof of knowledge verifies (bound to this competition and "
          "this submitter)")
    for line in receipt_lines:
        print(line)
    if not args.receipt:
        print(OFFLINE_CAVEAT)
    return verdict


OFFLINE_CAVEAT = (
    "NOTE: no receipt was checked, so this does not show that the commitment was made "
    "before the reveal (a model committed after it could have memorised the test set). "
    "Pass --receipt FILE with --receipt-key and --reveal-at, or verify a site's entry "
    "with --submission ID."
)


def _reveal_time(text: str | None):
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--reveal-at {text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise UsageError("--reveal-at needs a time zone, e.g. 2030-06-01T12:00:00Z")
    return when


def check_receipt_file(args, spec, submitter, com, reveal_at, lines: list[str]) -> int:
    """Check the site's signed receipt for this commitment, offline: the signature over
    (competition, submitter, architecture, commitment, time) recomputed from the files
    here, by the key pinned with --receipt-key (or the one in the file, with a warning),
    and the time before --reveal-at. Appends the lines to print after the verdict."""
    doc = read_json(args.receipt)
    receipt = doc.get("receipt") if isinstance(doc.get("receipt"), dict) else doc
    key_hex = args.receipt_key or receipt.get("public_key")
    if not isinstance(key_hex, str):
        raise UsageError(f"{args.receipt} names no receipt key: pass --receipt-key HEX")
    try:
        rec, signature = receipt_from_record(spec.competition_id, submitter,
                                             com["architecture"], com["commitment"], receipt)
        verify_receipt(bytes.fromhex(key_hex), rec, signature, backend=args.backend)
    except ClientError as exc:
        raise UsageError(f"{args.receipt}: {exc}") from None
    except (VerificationError, FormatError, ValueError) as exc:
        print(f"INVALID: commitment receipt ({args.receipt}): {exc}")
        return EXIT_INVALID
    if reveal_at is not None and rec.committed_at >= reveal_at:
        print(f"INVALID: the receipt shows the commitment at {rec.committed_at.isoformat()}, "
              f"not before the reveal at {reveal_at.isoformat()}")
        return EXIT_INVALID
    lines.append(f"receipt: signed by the key {key_hex[:16]}…; committed "
                 f"{utc_text(rec.committed_at.isoformat())}"
                 + (f", before the reveal at {utc_text(reveal_at.isoformat())}"
                    if reveal_at is not None else ""))
    if not args.receipt_key:
        lines.append("NOTE: the receipt key was taken from the receipt file itself; pin the "
                     "site's key (obtained out of band) with --receipt-key HEX")
    if reveal_at is None:
        lines.append("NOTE: without --reveal-at the receipt's time was not compared with "
                     "the reveal")
    return EXIT_OK
