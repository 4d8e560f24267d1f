"""`manage.py verifier_sweep`: run the periodic sweep now (Celery beat runs it every
VERIFIER_SWEEP_INTERVAL seconds): stale claims back to queued or rejected, lost messages
sent again."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from verifier.tasks import run_sweep


class Command(BaseCommand):
    help = "Re-queue submissions stuck in queued/verifying; reject those out of attempts."

    def handle(self, *args, **options):
        result = run_sweep()
        self.stdout.write(
            f"re-sent {len(result.resend)} submission(s) "
            f"({len(result.requeued)} stale verification(s) queued again); "
            f"rejected {len(result.rejected)} out of attempts"
        )
        for pk in result.rejected:
            self.stdout.write(f"  rejected submission {pk}")
