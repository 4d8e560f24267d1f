"""Receivers of this app: a submission's verdict, written by the verification worker
(verifier/services.py saves the row), mails its submitter. Connected to Django's own
``post_save`` of ``Submission``, so the worker's code needs nothing from this app."""

from __future__ import annotations

from . import selectors
from .models import Submission, SubmissionStatus, User
from .services import notifications


def refresh_leaderboard(sender, instance: Submission, **kwargs) -> None:
    """Any saved submission (a verdict, a moderation) may change its board."""
    selectors.bump_leaderboard(instance.competition_id)


def refresh_boards_of(sender, instance: User, created: bool, **kwargs) -> None:
    """A ban (or unban) moves the account's entries off (or back onto) the boards."""
    if created:
        return
    ids = Submission.objects.filter(competitor=instance).values_list("competition_id", flat=True)
    for competition_id in set(ids):
        selectors.bump_leaderboard(competition_id)


def notify_on_verdict(sender, instance: Submission, created: bool, **kwargs) -> None:
    if created or instance.status not in (SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED):
        return
    # Idempotent: a row saved again in the same state sends nothing more.
    notifications.notify_verdict(instance)
