"""`manage.py verifier_requeue ID… | --all-errors`: staff put submissions parked in `error`
(the platform's faults spent VERIFIER_INFRA_BUDGET) back in the queue with a fresh budget;
they are sent to the recovery queue at once. Anything not in `error` is left alone."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from competitions.models import Submission, SubmissionStatus
from verifier import services, tasks


class Command(BaseCommand):
    help = "Re-queue submissions parked in the error state (platform faults), by id or all."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="submission ids")
        parser.add_argument("--all-errors", action="store_true",
                            help="every submission in error")  # fmt: skip
        parser.add_argument("--no-send", action="store_true",
                            help="only mark them queued (the sweep sends them later)")  # fmt: skip

    def handle(self, *args, **options):
        ids = options["ids"]
        if options["all_errors"]:
            ids = list(Submission.objects.filter(status=SubmissionStatus.ERROR)
                       .values_list("id", flat=True))  # fmt: skip
        elif not ids:
            raise CommandError("give submission ids, or --all-errors")
        dispatches = services.requeue(ids, by="staff (manage.py verifier_requeue)")
        if not options["no_send"]:
            tasks.send_all(dispatches)
        done = [d.submission_id for d in dispatches]
        skipped = sorted(set(ids) - set(done))
        self.stdout.write(f"queued again: {' '.join(map(str, done)) or 'none'}")
        if skipped:
            self.stdout.write(f"not in error, left alone: {' '.join(map(str, skipped))}")
