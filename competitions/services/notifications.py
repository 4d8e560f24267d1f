"""E-mail notifications: the reveal of a competition one committed to, the proof deadline
approaching, a submission verified or rejected.

Each event is sent at most once per account: a ``Notification`` row keyed by the event is
created in the same transaction as the decision to send, and the mail leaves after that
transaction commits. Accounts without an address, or that turned notifications off on their
profile page, get none (and no row, so turning them back on later works for later events).
Mails go through Django's e-mail backend (``EMAIL_BACKEND``: the console in development,
SMTP in a deployment, memory in tests).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ..models import Competition, ModelCommitment, Notification, Submission, SubmissionStatus, User

log = logging.getLogger(__name__)


def _url(path: str) -> str:
    return settings.SITE_URL + path


def _when(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def notify(user: User, key: str, subject: str, body: str) -> bool:
    """Send once per ``key``; True when this call sent it."""
    if not (user.is_active and user.email and user.email_notifications):
        return False
    try:
        with transaction.atomic():
            Notification.objects.create(user=user, key=key, subject=subject[:300])
    except IntegrityError:
        return False  # sent already (by this process or another)
    footer = (
        f"\n\n--\nYou get these because e-mail notifications are on for {user.username}; "
        f"turn them off at {_url(reverse('profile'))}"
    )

    def send() -> None:
        try:
            send_mail(subject, body + footer, None, [user.email])
        except Exception:  # noqa: BLE001 - a mail server problem must not undo the event
            log.exception("could not send %r to %s", key, user.username)

    transaction.on_commit(send)
    return True


def notify_verdict(submission: Submission) -> bool:
    """A submission reached ``verified`` or ``rejected``: tell its submitter."""
    if submission.status not in (SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED):
        return False
    competition = submission.competition
    page = _url(reverse("submission-detail", args=[submission.pk]))
    if submission.status == SubmissionStatus.VERIFIED:
        subject = f"[zkarena] {competition.title}: submission {submission.pk} verified"
        body = (
            f"Your proof that commitment #{submission.commitment_id} labels "
            f"{submission.claimed_count} of {competition.test_set_num_samples} test samples "
            f"correctly was verified; it counts on the leaderboard.\n\n{page}"
        )
    else:
        reason = (submission.verification_log or "").strip().splitlines()
        subject = f"[zkarena] {competition.title}: submission {submission.pk} rejected"
        body = (
            f"Your submission {submission.pk} (commitment #{submission.commitment_id}, claim "
            f"{submission.claimed_count}) was rejected"
            + (f": {reason[-1]}" if reason else ".")
            + f"\n\n{page}"
        )
    return notify(submission.competitor, f"verdict:{submission.pk}", subject, body)


def _committed_users(competition: Competition):
    ids = ModelCommitment.objects.filter(competition=competition).values("competitor_id")
    return User.objects.filter(pk__in=ids, is_active=True)


def send_timeline_notifications(now: datetime | None = None) -> int:
    """The reveal and the approaching proof deadline, for every competition where one is
    due; safe to run as often as wanted (each mail goes once). Returns how many were sent."""
    now = now or timezone.now()
    soon = timedelta(hours=settings.NOTIFY_DEADLINE_HOURS)
    sent = 0
    revealed = Competition.objects.exclude(test_set_digest="").filter(
        reveal_at__lte=now, proof_deadline__gt=now
    )
    for competition in revealed:
        page = _url(reverse("competition-detail", args=[competition.slug]))
        for user in _committed_users(competition):
            sent += notify(
                user,
                f"reveal:{competition.pk}:{user.pk}",
                f"[zkarena] {competition.title}: the test set is revealed",
                f"The test set of {competition.title} is public since "
                f"{_when(competition.reveal_at)}. Prove and submit before the proof deadline, "
                f"{_when(competition.proof_deadline)}:\n\n"
                f"  zkarena prove --competition {competition.slug}\n"
                f"  zkarena submit proof.zkp --wait 300\n\n{page}",
            )
        deadline = _when(competition.proof_deadline)
        if competition.proof_deadline - now <= soon:
            submitted = Submission.objects.filter(competition=competition).values(
                "competitor_id"
            )
            for user in _committed_users(competition).exclude(pk__in=submitted):
                sent += notify(
                    user,
                    f"deadline:{competition.pk}:{user.pk}",
                    f"[zkarena] {competition.title}: proofs close {deadline}",
                    f"You committed to {competition.title} but have not submitted a proof. "
                    f"Proofs close at {deadline}.\n\n"
                    f"  zkarena prove --competition {competition.slug}\n"
                    f"  zkarena submit proof.zkp --wait 300\n\n{page}",
                )
    return sent
