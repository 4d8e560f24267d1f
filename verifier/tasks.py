"""Celery tasks of the verifier: thin wrappers around verifier.services.

``verify_submission`` is keyed by the submission id and idempotent (services.claim), so
sending it twice, or the broker delivering it twice, verifies once. It has no automatic
retry: services turn every failure that is not a verdict into a counted platform fault
and a fresh message (a new dispatch token) to the recovery queue after a backoff, so a
retry is never mistaken for a takeover and never costs a verdict attempt.
"""

from __future__ import annotations

import logging
import socket

import kombu.exceptions
from celery import shared_task

from . import selectors, services

log = logging.getLogger(__name__)


def send(d: services.Dispatch) -> None:
    """Send the message a dispatch stands for, with time limits scaled by the competition's
    size, to the queue its token names: recovery (served before the backlog), or small or
    large by expected cost (services._dispatch_locked, routing.queue_for)."""
    soft, hard = services.time_limits(d.num_samples)
    verify_submission.apply_async(
        (d.submission_id,),
        {"token": d.token},
        queue=d.queue,
        soft_time_limit=soft,
        time_limit=hard,
        countdown=d.countdown or None,
    )


def enqueue(submission_id: int, *, recovery: bool = False) -> bool:
    """Send ``verify_submission`` for a queued submission under a new dispatch token (any
    message already on its way becomes a no-op). False if it is not queued."""
    d = services.dispatch(submission_id, recovery=recovery)
    if d is None:
        return False
    send(d)
    return True


def send_all(dispatches) -> int:
    """Send each; a broker failure leaves the rest to the sweep (their rows are queued with
    a due time, so the sweep proves them lost and sends them again)."""
    sent = 0
    for d in dispatches:
        try:
            send(d)
            sent += 1
        except (kombu.exceptions.OperationalError, OSError):
            log.exception("could not send submission %s; the sweep will", d.submission_id)
    return sent


@shared_task(
    bind=True,
    name="verifier.tasks.verify_submission",
    acks_late=True,
    reject_on_worker_lost=True,
)
def verify_submission(self, submission_id: int, token: str = "") -> str:
    result = services.verify_submission(
        submission_id,
        worker=self.request.hostname or socket.gethostname(),
        task_id=self.request.id or "",
        token=token,
    )
    if result.resend is not None:
        send_all([result.resend])
    return result.status


def run_sweep() -> services.SweepResult:
    """Sweep, then send what it found (after its transaction committed). The broker is
    asked whether the verifier's queues are empty: that proves a queued row's message lost."""
    depths = [
        selectors.broker_queue_length(q)
        for q in selectors.verifier_queues()
    ]
    result = services.sweep(queues_empty=all(n == 0 for n in depths))
    send_all(result.resend)
    return result


@shared_task(name="verifier.tasks.sweep_stuck_submissions", ignore_result=True)
def sweep_stuck_submissions() -> dict[str, int]:
    """The sweep as a task, for deployments that want to trigger it through the broker;
    every worker already runs it on its own (verifier/supervisor.py)."""
    result = run_sweep()
    return {
        "resent": len(result.resend),
        "taken_over": len(result.taken_over),
        "lost": len(result.lost),
        "parked": len(result.parked),
    }
