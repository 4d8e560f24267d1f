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


def verifier_queues() -> list[str]:
    """The verifier's broker queues, the order workers serve them: recovery, small, large
    (the large one only when routing by size is on)."""
    names = [settings.VERIFIER_RECOVERY_QUEUE, settings.VERIFIER_QUEUE,
             settings.VERIFIER_LARGE_QUEUE]
    return [n for i, n in enumerate(names) if n and n not in names[:i]]


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


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 1)


def health(now: datetime | None = None, *, with_broker: bool = True) -> dict[str, Any]:
    """What the verifier is doing, from the database's truth and the broker's word:

    - counts per unfinished state, ``error`` included (parked: the platform's faults);
    - every ``verifying`` claim with its age and its lease: a claim whose lease ran out has
      lost its worker (``dead_claims``), the sweep takes it over;
    - the oldest waiting submission, and how many queued rows are due now or waiting out a
      backoff (one row is one submission: superseded or duplicate messages do not count);
    - per broker queue the raw message count (which may include superseded messages);
    - the workers by heartbeat (alive while it is younger than 3 heartbeat intervals),
      with their last verification.
    """
    from .models import WorkerHeartbeat

    now = now or timezone.now()
    by_status = dict(
        Submission.objects.filter(
            status__in=[SubmissionStatus.QUEUED, SubmissionStatus.VERIFYING, SubmissionStatus.ERROR]
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    claims = []
    for row in (
        Submission.objects.filter(status=SubmissionStatus.VERIFYING)
        .order_by("verification_started_at", "id")
        .values("id", "verification_worker", "verification_started_at", "lease_expires_at",
                "attempts", "infra_failures")[:100]
    ):  # fmt: skip
        lease = row["lease_expires_at"]
        claims.append(
            {
                "id": row["id"],
                "worker": row["verification_worker"],
                "age_seconds": _age(now, row["verification_started_at"]),
                "lease_left_seconds": None if lease is None else round(
                    (lease - now).total_seconds(), 1),
                "alive": lease is not None and lease > now,
                "attempts": row["attempts"],
                "infra_failures": row["infra_failures"],
            }
        )
    queued = Submission.objects.filter(status=SubmissionStatus.QUEUED)
    oldest = (
        queued.order_by("created_at", "id")
        .values("id", "created_at", "dispatched_at", "attempts", "infra_failures",
                "competition__slug")
        .first()
    )  # fmt: skip
    parked = [
        {
            "id": row["id"],
            "competition": row["competition__slug"],
            "infra_failures": row["infra_failures"],
            "last_error": row["last_error"],
            "since": _iso(row["verification_finished_at"]),
        }
        for row in Submission.objects.filter(status=SubmissionStatus.ERROR)
        .order_by("verification_finished_at", "id")
        .values("id", "competition__slug", "infra_failures", "last_error",
                "verification_finished_at")[:100]
    ]  # fmt: skip

    finished = Submission.objects.filter(
        status__in=[SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED],
        verification_finished_at__isnull=False,
    ).exclude(verification_worker="")
    last_by_worker = {
        row["verification_worker"]: row
        for row in finished.values("verification_worker").annotate(
            last=Max("verification_finished_at"),
            verified=Count("id", filter=Q(status=SubmissionStatus.VERIFIED)),
            rejected=Count("id", filter=Q(status=SubmissionStatus.REJECTED)),
        )
    }
    dead_after = 3 * settings.VERIFIER_HEARTBEAT_INTERVAL
    workers = []
    for beat in WorkerHeartbeat.objects.order_by("name"):
        seen = _age(now, beat.last_seen)
        done = last_by_worker.get(beat.name, {})
        workers.append(
            {
                "worker": beat.name,
                "pid": beat.pid,
                "queues": beat.queues,
                "alive": seen is not None and seen <= dead_after,
                "last_seen": _iso(beat.last_seen),
                "seen_seconds_ago": seen,
                "started_at": _iso(beat.started_at),
                "sweeps": beat.sweeps,
                "verifying": sum(1 for c in claims if c["worker"] == beat.name),
                "last_finished_at": _iso(done.get("last")),
                "verified": done.get("verified", 0),
                "rejected": done.get("rejected", 0),
            }
        )
    queues = []
    for name in verifier_queues():
        queues.append(
            {"queue": name, "messages": broker_queue_length(name) if with_broker else None}
        )
    return {
        "now": _iso(now),
        "queued": by_status.get(SubmissionStatus.QUEUED, 0),
        "queued_due": queued.filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=now))
        .count(),
        "queued_backoff": queued.filter(dispatched_at__gt=now).count(),
        "verifying": by_status.get(SubmissionStatus.VERIFYING, 0),
        "dead_claims": sum(1 for c in claims if not c["alive"]),
        "error": by_status.get(SubmissionStatus.ERROR, 0),
        "claims": claims,
        "oldest_queued": None
        if oldest is None
        else {
            "id": oldest["id"],
            "competition": oldest["competition__slug"],
            "created_at": _iso(oldest["created_at"]),
            "age_seconds": _age(now, oldest["created_at"]),
            "dispatched_at": _iso(oldest["dispatched_at"]),
            "attempts": oldest["attempts"],
            "infra_failures": oldest["infra_failures"],
        },
        "parked": parked,
        "broker": {"queues": queues},
        "workers": workers,
        "workers_alive": sum(1 for w in workers if w["alive"]),
    }
