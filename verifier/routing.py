"""Which broker queue a submission's verification goes to: by its expected cost.

The commitment record keeps the architecture's estimated verification time at the
competition's N (``cost_verify_seconds``, from ``zkproofs.accuracy.proof_cost`` at commit
time). Above ``VERIFIER_LARGE_SECONDS`` the verification goes to ``VERIFIER_LARGE_QUEUE``,
otherwise to ``VERIFIER_QUEUE``; workers consume one or both (``celery worker -Q``), so a
few large proofs never hold up the small ones (docs/operations.md, "Queues by size").
Every send of ``verify_submission`` asks this one function (tasks.enqueue).
"""

from __future__ import annotations

import logging

from django.conf import settings

from competitions.models import Submission

log = logging.getLogger(__name__)


def expected_verify_seconds(submission_id: int) -> float | None:
    """The estimated verification time of the submission's architecture at its
    competition's N: the one stored with the commitment, or counted now for a commitment
    registered before costs were stored; None if it cannot be known (unknown id, an
    architecture protocol v2 cannot lay out)."""
    row = (
        Submission.objects.filter(pk=submission_id)
        .values_list(
            "commitment__cost_verify_seconds",
            "commitment__architecture",
            "competition__test_set_num_samples",
        )
        .first()
    )
    if row is None:
        return None
    stored, architecture, num_samples = row
    if stored is not None:
        return float(stored)
    if not architecture or not num_samples:
        return None
    from zkproofs import accuracy

    try:
        return float(accuracy.proof_cost(bytes(architecture), num_samples).verify_seconds)
    except Exception:  # noqa: BLE001 - an uncostable architecture: treated as large
        log.warning("submission %s: its architecture's cost cannot be counted", submission_id)
        return None


def queue_for(submission_id: int) -> str:
    """The queue for this submission's verification."""
    small, large = settings.VERIFIER_QUEUE, settings.VERIFIER_LARGE_QUEUE
    threshold = settings.VERIFIER_LARGE_SECONDS
    if not large or large == small or threshold <= 0:
        return small
    seconds = expected_verify_seconds(submission_id)
    # Unknown cost: the large queue, where it can hold up nothing small.
    return large if seconds is None or seconds > threshold else small
