"""`manage.py verifier_health [--json] [--no-broker]`: live workers by heartbeat, claims by
age and lease, queued/due/backoff counts, parked submissions, broker depth per queue, the
oldest waiting submission. Exits 0; monitoring reads the JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from verifier import selectors


class Command(BaseCommand):
    help = "Show the verifier's workers, claims, queues and parked submissions."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--no-broker", action="store_true", help="do not ask the broker for its queue length"
        )

    def handle(self, *args, **options):
        r = selectors.health(with_broker=not options["no_broker"])
        if options["json"]:
            self.stdout.write(json.dumps(r, indent=2))
            return
        w = self.stdout.write
        w(f"queued: {r['queued']} ({r['queued_due']} due, {r['queued_backoff']} in backoff)  "
          f"verifying: {r['verifying']} ({r['dead_claims']} dead claims)  "
          f"error (parked): {r['error']}")  # fmt: skip
        for q in r["broker"]["queues"]:
            messages = "unknown" if q["messages"] is None else q["messages"]
            w(f"broker queue {q['queue']!r}: {messages} messages")
        oldest = r["oldest_queued"]
        if oldest:
            w(f"oldest queued: submission {oldest['id']} ({oldest['competition']}), waiting "
              f"{oldest['age_seconds']:.0f} s, {oldest['attempts']} attempts, "
              f"{oldest['infra_failures']} platform faults")  # fmt: skip
        else:
            w("oldest queued: none")
        for c in r["claims"]:
            state = "alive" if c["alive"] else "DEAD (lease ran out)"
            w(f"claim: submission {c['id']} on {c['worker']}, {c['age_seconds']:.0f} s old, "
              f"lease {state}")
        for p in r["parked"]:
            w(f"parked: submission {p['id']} ({p['competition']}) after {p['infra_failures']} "
              f"platform faults: {p['last_error']}  (manage.py verifier_requeue {p['id']})")
        if not r["workers"]:
            w("workers: none has a heartbeat")
        for x in r["workers"]:
            state = "alive" if x["alive"] else "DEAD"
            w(f"worker {x['worker']} (pid {x['pid']}): {state}, seen {x['seen_seconds_ago']:.0f}"
              f" s ago, verifying {x['verifying']}; {x['verified']} verified, "
              f"{x['rejected']} rejected")
