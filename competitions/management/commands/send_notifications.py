"""`manage.py send_notifications`: send the reveal and proof-deadline e-mails that are due
(what Celery beat runs every NOTIFY_INTERVAL seconds); each goes once."""

from django.core.management.base import BaseCommand

from competitions.services import notifications


class Command(BaseCommand):
    help = "Send the reveal and proof-deadline e-mails that are due (each once)."

    def handle(self, *args, **options):
        sent = notifications.send_timeline_notifications()
        self.stdout.write(f"{sent} notification(s) sent")
