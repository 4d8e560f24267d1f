"""How results are printed: times, tables, submissions, and the verdict of a verification."""

from __future__ import annotations

from datetime import UTC, datetime

from .. import accuracy
from ..errors import VerificationError
from ..formats import FormatError
from .common import EXIT_INVALID, EXIT_OK


def utc_text(text: str | None) -> str:
    if not text:
        return "-"
    try:
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return text


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def print_submission(sub: dict) -> None:
    print(f"submission #{sub['id']} in {sub['competition']} by {sub['competitor']}: "
          f"claims {sub['claimed_count']}/{sub['num_samples']}, status {sub['status']}")
    for line in (sub.get("verification_log") or "").strip().splitlines():
        print(f"  verifier: {line}")
    if sub.get("page_url"):
        print(f"  page: {sub['page_url']}")


def verify_and_report(spec, x, y, salt, submitter, architecture, commitment, container,
                       backend, *, expected_claim=None) -> int:
    """Check a proof file in its context and print the verdict (shared by offline and
    --submission verification)."""
    try:
        container.check_context(spec, submitter, architecture, commitment)
        if expected_claim is not None and container.claimed != expected_claim:
            raise VerificationError("the proof file claims another count than the site shows")
        report = accuracy.verify_accuracy(
            spec, x, y, salt, submitter, architecture, commitment,
            container.claimed, container.proof, backend=backend,
        )
    except (VerificationError, FormatError, accuracy.CommitmentError, ValueError) as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    pct = 100 * report.correct / report.num_samples
    verdict = "meets" if report.meets_threshold else "does NOT meet"
    print(f"VALID: the committed model labels at least {report.correct}/{report.num_samples} "
          f"test samples correctly ({pct:.2f}%); {verdict} the threshold {spec.threshold} "
          f"[{backend} backend, {report.seconds:.2f} s]")
    return EXIT_OK
