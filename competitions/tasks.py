"""Periodic tasks of this app (scheduled by Celery beat, CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from .services import notifications


@shared_task(name="competitions.tasks.send_timeline_notifications", ignore_result=True)
def send_timeline_notifications() -> int:
    """Reveal and proof-deadline e-mails that are due; each goes once."""
    return notifications.send_timeline_notifications()
