"""The hand-off from the platform: ``submission_queued`` → a verification task."""

from __future__ import annotations

import logging

import kombu.exceptions
from django.conf import settings
from django.db import DatabaseError

log = logging.getLogger(__name__)


def enqueue_on_submission_queued(sender, submission_id: int, **kwargs) -> None:
    """Sent by the platform from ``transaction.on_commit``, so the row is committed."""
    if not settings.VERIFIER_ENQUEUE:
        return
    from .tasks import enqueue

    try:
        enqueue(submission_id)
    except (kombu.exceptions.OperationalError, OSError, DatabaseError):
        # The upload itself succeeded; the sweep sends the submission once its message is
        # provably lost (VERIFIER_QUEUED_TIMEOUT), so a broker outage delays it, loses nothing.
        log.exception("could not enqueue submission %s; the sweep will re-send it", submission_id)
