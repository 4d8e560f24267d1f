"""Periodic tasks of this app (scheduled by Celery beat, CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from .services import notifications, transparency


@shared_task(name="competitions.tasks.send_timeline_notifications", ignore_result=True)
def send_timeline_notifications() -> int:
    """Reveal and proof-deadline e-mails that are due; each goes once."""
    return notifications.send_timeline_notifications()


@shared_task(name="competitions.tasks.log_due_reveals", ignore_result=True)
def log_due_reveals() -> int:
    """Append to the commitment log the reveal of every competition whose time has come."""
    return transparency.log_due_reveals()
