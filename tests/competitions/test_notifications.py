"""E-mail notifications: the reveal and the proof deadline (the periodic notifier), and
verdicts written by the real verification service; each mail once, none for an account
that opted out. Mails go to Django's locmem backend (test settings)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from competitions.models import Notification, Submission
from competitions.services import notifications
from competitions.services import submissions as submission_service
from verifier import services as verifier

from .helpers import DEADLINE, REVEAL, SECOND, prove, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(competition, users, register):
    """Alice (notifications on) and Bob (off) committed before the reveal."""
    users.other.email_notifications = False
    users.other.save()
    alice = register(competition, users.competitor)
    register(competition, users.other)
    return alice


def test_reveal_and_deadline_mails_go_once(
    clock, competition, users, committed, django_capture_on_commit_callbacks
):
    clock.set(REVEAL - SECOND)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.send_timeline_notifications() == 0  # nothing due yet

    clock.set(REVEAL + SECOND)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.send_timeline_notifications() == 1
        assert notifications.send_timeline_notifications() == 0  # once only
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]  # bob opted out
    assert "the test set is revealed" in message.subject
    assert f"zkarena prove --competition {competition.slug}" in message.body
    assert "/accounts/profile/" in message.body  # how to opt out

    # A day before the deadline, a reminder to whoever has not submitted.
    clock.set(DEADLINE - timedelta(hours=23))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_notifications")
        call_command("send_notifications")
    assert len(mail.outbox) == 2
    assert "proofs close 2031-03-08 12:00 UTC" in mail.outbox[1].subject
    assert Notification.objects.filter(user=users.other).count() == 0


def test_verdicts_of_the_verifier_mail_the_submitter(
    clock, competition, users, committed, django_capture_on_commit_callbacks
):
    clock.set(REVEAL + SECOND)
    good = prove(competition, users.competitor, committed.committed)
    data = bytearray(prove(competition, users.competitor, committed.committed, claimed=17)
                     .to_bytes())  # fmt: skip
    data[-40] ^= 0x55  # a corrupted body: well-formed header, the verifier rejects it
    ids = [
        submission_service.create_submission(
            competition=competition, competitor=users.competitor,
            proof=upload("p.zkp", blob),
        ).pk
        for blob in (good.to_bytes(), bytes(data))
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        for sid in ids:
            verifier.verify_submission(sid, worker="test-worker", task_id=f"t{sid}")
    statuses = dict(Submission.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {ids[0]: "verified", ids[1]: "rejected"}
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        f"[zkarena] {competition.title}: submission {ids[0]} verified",
        f"[zkarena] {competition.title}: submission {ids[1]} rejected",
    ]
    assert f"commitment #{committed.record.pk}" in mail.outbox[0].body
    # Saved again (a moderator hides it, say): no second mail.
    with django_capture_on_commit_callbacks(execute=True):
        Submission.objects.get(pk=ids[0]).save()
    assert len(mail.outbox) == 2


def test_password_reset_mail(client, users):
    response = client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    (message,) = mail.outbox
    assert message.subject == "zkarena: reset your password"
    link = next(line for line in message.body.splitlines() if "/accounts/password/reset/" in line)
    page = client.get(link.replace("http://testserver", ""), follow=True)
    assert b"Choose a new password" in page.content
