"""GET /metrics after a real verification by a real worker: every series docs/operations.md
documents, with the values that verification gave; and who may read it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from competitions.services import accounts
from monitoring.models import VerificationRun
from tests.competitions.helpers import GOOD_CORRECT
from zkarena_site.settings import BASE_DIR

from .conftest import wait_for, wait_for_final
from .worker import running_worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("needs_postgresql"),
]

OUTSIDE = "203.0.113.7"  # TEST-NET-3: never an internal address


def documented_series() -> set[str]:
    """The series names in the table of docs/operations.md's "Metrics" section."""
    text = (BASE_DIR / "docs" / "operations.md").read_text()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(zkarena_[a-z_]+)`", section, flags=re.MULTILINE))


def samples(body: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_metrics_after_a_verification(arena):
    alice = arena.enter("alice")
    proof = alice.proof(arena.competition)
    with running_worker() as worker:
        submission = arena.submit(alice, proof)
        wait_for_final([submission.pk])
        wait_for(lambda: VerificationRun.objects.exists(), what="the worker's metrics row")
        response = Client().get("/metrics")  # from 127.0.0.1, in the default networks
        queue = worker.queue
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    body = response.content.decode()
    got = samples(body)
    names = {name for name, _ in got}

    documented = documented_series()
    assert len(documented) >= 6
    for name in documented:
        assert name in names or f"{name}_count" in names, f"{name} missing from /metrics"
    for family in text_string_to_metric_families(body):
        public = family.name + ("_total" if family.type == "counter" else "")
        assert public in documented, f"{public} is served but not documented"

    assert got[("zkarena_verifications_total", (("outcome", "verified"),))] == 1
    assert got[("zkarena_submissions", (("status", "verified"),))] == 1
    assert got[("zkarena_submissions", (("status", "queued"),))] == 0
    assert got[("zkarena_oldest_queued_submission_age_seconds", ())] == 0
    assert got[("zkarena_verification_queue_messages", (("queue", queue),))] == 0
    run = VerificationRun.objects.get()
    assert run.submission_id == submission.pk and run.outcome == "verified"
    assert run.worker.startswith(worker.hostname_prefix) and run.queue == queue
    assert got[("zkarena_verification_seconds_count", ())] == 1
    assert got[("zkarena_verification_seconds_sum", ())] == pytest.approx(run.seconds)
    assert got[("zkarena_verification_seconds_bucket", (("le", "+Inf"),))] == 1
    # A Python process verifying a proof holds tens of megabytes at least.
    assert run.peak_memory_bytes > 32 * 1024 * 1024
    assert got[("zkarena_verification_peak_memory_bytes_count", ())] == 1
    assert got[("zkarena_verification_peak_memory_bytes_bucket", (("le", "+Inf"),))] == 1
    submission.refresh_from_db()
    assert submission.proven_count == GOOD_CORRECT


@pytest.mark.django_db
def test_metrics_refuse_anonymous_requests_from_outside(arena, settings):
    staff = arena.competitor("sam")
    staff.is_staff = True
    staff.save()
    competitor = arena.competitor("bob")

    outside = Client(REMOTE_ADDR=OUTSIDE)
    assert outside.get("/metrics").status_code == 403
    # A header the client sets itself is not trusted (no proxy configured).
    assert outside.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    token = accounts.token_for(competitor).key
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Token {token}").status_code == 403
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Token nonsense").status_code == 403

    staff_token = accounts.token_for(staff).key
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Token {staff_token}").status_code == 200
    session = Client(REMOTE_ADDR=OUTSIDE)
    session.force_login(staff)
    assert session.get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200

    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert outside.get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403
