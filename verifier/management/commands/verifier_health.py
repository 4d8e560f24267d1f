"""`manage.py verifier_health [--json]`: queue depth, oldest queued, last verification per
worker. Exits 0; monitoring reads the JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from verifier import selectors


class Command(BaseCommand):
    help = "Show the verification queue depth, the oldest queued submission and the workers."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--no-broker", action="store_true", help="do not ask the broker for its queue length"
        )

    def handle(self, *args, **options):
        report = selectors.health(with_broker=not options["no_broker"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        broker = report["broker"]
        messages = "unknown" if broker["messages"] is None else broker["messages"]
        self.stdout.write(
            f"queued: {report['queued']}  verifying: {report['verifying']}  "
            f"broker queue {broker['queue']!r}: {messages} messages"
        )
        oldest = report["oldest_queued"]
        if oldest:
            self.stdout.write(
                f"oldest queued: submission {oldest['id']} ({oldest['competition']}), "
                f"waiting {oldest['age_seconds']:.0f} s, {oldest['attempts']} attempts so far"
            )
        else:
            self.stdout.write("oldest queued: none")
        if not report["workers"]:
            self.stdout.write("workers: no verification recorded yet")
        for w in report["workers"]:
            self.stdout.write(
                f"worker {w['worker']}: last {w['last_status']} submission "
                f"{w['last_submission']} at {w['last_finished_at']} "
                f"({w['seconds_ago']:.0f} s ago); "
                f"{w['verified']} verified, {w['rejected']} rejected"
            )
