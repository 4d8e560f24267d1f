"""`manage.py verifier_sweep`: run the sweep now (every worker runs it every
VERIFIER_SWEEP_INTERVAL seconds): claims whose lease ran out are taken over (or parked in
error when out of budget), queued submissions whose message is provably lost are sent
again; nothing still queued is sent twice."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from verifier.tasks import run_sweep


class Command(BaseCommand):
    help = "Take over dead claims and re-send lost messages (never what is still queued)."

    def handle(self, *args, **options):
        result = run_sweep()
        self.stdout.write(
            f"re-sent {len(result.resend)} submission(s): {len(result.taken_over)} taken "
            f"over from dead workers, {len(result.lost)} lost messages; "
            f"parked {len(result.parked)} in error"
        )
        for pk in result.parked:
            self.stdout.write(f"  parked submission {pk} (manage.py verifier_requeue {pk})")
