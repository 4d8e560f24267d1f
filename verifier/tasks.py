"""Celery tasks of the verifier: thin wrappers around verifier.services.

``verify_submission`` is keyed by the submission id and idempotent (services.claim), so
sending it twice, or the broker delivering it twice, verifies once. It retries with
exponential backoff only for transient failures — the database or the broker unavailable,
storage I/O — never for an invalid proof, which services record as a rejection.
"""

from __future__ import annotations

import logging
import socket

import kombu.exceptions
from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import routing, selectors, services

log = logging.getLogger(__name__)

# Failures worth trying again later; anything else is either a rejection (handled inside the
# service) or a bug, which the sweep retries up to VERIFIER_MAX_ATTEMPTS times.
# FileNotFoundError is an OSError but never reaches here: a missing proof is a rejection.
TRANSIENT = (OperationalError, InterfaceError, kombu.exceptions.OperationalError, OSError)


def enqueue(
    submission_id: int,
    *,
    num_samples: int | None = None,
    countdown: float | None = None,
    queue: str | None = None,
) -> None:
    """Send ``verify_submission`` with time limits scaled by the competition's size, to
    ``queue`` or else the queue its expected cost routes it to (routing.queue_for)."""
    if num_samples is None:
        num_samples = selectors.num_samples_of(submission_id)
    soft, hard = services.time_limits(num_samples)
    verify_submission.apply_async(
        (submission_id,),
        queue=queue or routing.queue_for(submission_id),
        soft_time_limit=soft,
        time_limit=hard,
        countdown=countdown,
    )


@shared_task(
    bind=True,
    name="verifier.tasks.verify_submission",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def verify_submission(self, submission_id: int) -> str:
    outcome = services.verify_submission(
        submission_id,
        worker=self.request.hostname or socket.gethostname(),
        task_id=self.request.id or "",
    )
    if outcome == "released":
        # The attempt hit its soft time limit (perhaps a busy machine): try again a little
        # later; services rejects it once it is out of attempts.
        enqueue(submission_id, countdown=30, queue=_queue_of(self.request))
    return outcome


def _queue_of(request) -> str | None:
    return (request.delivery_info or {}).get("routing_key") or None


def run_sweep() -> services.SweepResult:
    """Re-send what the sweep found stuck (after its transaction committed)."""
    result = services.sweep()
    for submission_id, num_samples in result.resend:
        enqueue(submission_id, num_samples=num_samples)
    return result


@shared_task(name="verifier.tasks.sweep_stuck_submissions", ignore_result=True)
def sweep_stuck_submissions() -> dict[str, int]:
    """The periodic sweep (Celery beat, settings.CELERY_BEAT_SCHEDULE)."""
    result = run_sweep()
    return {
        "resent": len(result.resend),
        "requeued": len(result.requeued),
        "rejected": len(result.rejected),
    }
