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
        key = ("zkarena_http_requests_total",
               (("method", "GET"), ("route", "/api/receipt-key/"), ("status", "2xx")))
        before = samples(Client().get("/metrics").content.decode()).get(key, 0)
        for _ in range(3):
            assert Client().get("/api/receipt-key/").status_code == 200
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
    # The web side: the three requests above, by their route, not their path.
    assert got[key] == before + 3
    assert got[("zkarena_http_request_seconds_count", (("route", "/api/receipt-key/"),))] >= 3
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


def test_gunicorn_workers_add_up_their_request_counts(tmp_path):
    """Two gunicorn worker processes with PROMETHEUS_MULTIPROC_DIR (the documented set-up):
    a scrape of either reports every request the host answered, whichever process served
    it, and the directory is emptied when gunicorn starts."""
    import http.client
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from .worker import database_url

    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_stale.db").write_bytes(b"left by a previous run")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = Path(BASE_DIR)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "zkarena_site.test_settings",
           "DATABASE_URL": database_url(), "PROMETHEUS_MULTIPROC_DIR": str(folder),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "PYTHONPATH": os.pathsep.join([str(repo / "platform"), str(repo)])}
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:zkarena_site.gunicorn_conf",
         "zkarena_site.wsgi:application"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def get(path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path)  # a new connection each time: either worker may take it
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/api/receipt-key/")
                break
            except OSError:
                assert server.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.2)
        assert not (folder / "counter_stale.db").exists()
        for _ in range(20):
            assert get("/api/receipt-key/")[0] == 200
        status, body = get("/metrics")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert status == 200, body
    got = samples(body)
    key = ("zkarena_http_requests_total",
           (("method", "GET"), ("route", "/api/receipt-key/"), ("status", "2xx")))
    assert got[key] == 21  # the readiness probe and the twenty
    assert any(folder.glob("counter_*.db")), "no per-process files: not in multiprocess mode"
