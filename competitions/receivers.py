"""Receivers of this app: a submission's verdict, written by the verification worker
(verifier/services.py saves the row), mails its submitter. Connected to Django's own
``post_save`` of ``Submission``, so the worker's code needs nothing from this app."""

from __future__ import annotations

from .models import Submission, SubmissionStatus
from .services import notifications


def notify_on_verdict(sender, instance: Submission, created: bool, **kwargs) -> None:
    if created or instance.status not in (SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED):
        return
    # Idempotent: a row saved again in the same state sends nothing more.
    notifications.notify_verdict(instance)
