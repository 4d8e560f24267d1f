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


def duration_text(seconds: float) -> str:
    """'3 days 4 h', '5 h 12 min', '7 min', '40 s': the two largest units."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def time_left(text: str | None, now: datetime | None = None) -> str:
    """'in 3 days 4 h' or '2 h 5 min ago' from an ISO time the site sent."""
    if not text:
        return "-"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return "-"
    if when.tzinfo is None:
        return "-"
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return f"in {duration_text(delta)}" if delta >= 0 else f"{duration_text(-delta)} ago"


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def status_text(status: str) -> str:
    """A submission's status as a competitor should read it: ``error`` is the site's own
    fault (its staff re-queue it), never a verdict on the proof."""
    return "delayed by the platform" if status == "error" else status


def print_submission(sub: dict) -> None:
    print(f"submission #{sub['id']} in {sub['competition']} by {sub['competitor']}: "
          f"claims {sub['claimed_count']}/{sub['num_samples']}, "
          f"status {status_text(sub['status'])}")
    if sub["status"] == "error":
        print("  the site could not verify it because of its own faults; this is not a verdict "
              "on your proof, and the site's staff will re-queue it")
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
