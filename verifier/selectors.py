"""Read-side queries of the verifier: sizes for time limits, and worker health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from competitions.models import Submission, SubmissionStatus


def num_samples_of(submission_id: int) -> int | None:
    """N of the submission's competition (None for an unknown id)."""
    return (
        Submission.objects.filter(pk=submission_id)
        .values_list("competition__test_set_num_samples", flat=True)
        .first()
    )


def broker_queue_length(queue: str) -> int | None:
    """Messages waiting in the broker queue (not counting ones a worker holds), or None
    when the broker cannot say. A queue the broker does not know holds nothing."""
    from zkarena_site.celery import app

    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            channel = conn.channel()
            try:
                return channel.queue_declare(queue=queue, passive=True).message_count
            except Exception as exc:  # noqa: BLE001 - each transport has its own "not found"
                if "NOT_FOUND" in str(exc) or "404" in str(exc) or "no queue" in str(exc).lower():
                    return 0
                raise
            finally:
                channel.close()
    except Exception:  # noqa: BLE001 - health must answer even when the broker does not
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def health(now: datetime | None = None, *, with_broker: bool = True) -> dict[str, Any]:
    """Queue depth, the oldest queued submission and the last verification per worker."""
    now = now or timezone.now()
    by_status = dict(
        Submission.objects.filter(
            status__in=[SubmissionStatus.QUEUED, SubmissionStatus.VERIFYING]
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    oldest = (
        Submission.objects.filter(status=SubmissionStatus.QUEUED)
        .order_by("created_at", "id")
        .values("id", "created_at", "attempts", "competition__slug")
        .first()
    )
    workers = []
    finished = Submission.objects.filter(
        status__in=[SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED],
        verification_finished_at__isnull=False,
    ).exclude(verification_worker="")
    per_worker = (
        finished.values("verification_worker")
        .annotate(
            last=Max("verification_finished_at"),
            verified=Count("id", filter=Q(status=SubmissionStatus.VERIFIED)),
            rejected=Count("id", filter=Q(status=SubmissionStatus.REJECTED)),
        )
        .order_by("-last")
    )
    for row in per_worker:
        last = (
            finished.filter(
                verification_worker=row["verification_worker"],
                verification_finished_at=row["last"],
            )
            .order_by("-id")
            .values("id", "status", "verification_seconds")
            .first()
        )
        workers.append(
            {
                "worker": row["verification_worker"],
                "last_finished_at": _iso(row["last"]),
                "seconds_ago": round((now - row["last"]).total_seconds(), 1),
                "last_submission": last["id"],
                "last_status": last["status"],
                "last_seconds": last["verification_seconds"],
                "verified": row["verified"],
                "rejected": row["rejected"],
            }
        )
    queue = settings.VERIFIER_QUEUE
    return {
        "now": _iso(now),
        "queued": by_status.get(SubmissionStatus.QUEUED, 0),
        "verifying": by_status.get(SubmissionStatus.VERIFYING, 0),
        "oldest_queued": None
        if oldest is None
        else {
            "id": oldest["id"],
            "competition": oldest["competition__slug"],
            "created_at": _iso(oldest["created_at"]),
            "age_seconds": round((now - oldest["created_at"]).total_seconds(), 1),
            "attempts": oldest["attempts"],
        },
        "broker": {
            "queue": queue,
            "messages": broker_queue_length(queue) if with_broker else None,
        },
        "workers": workers,
    }
