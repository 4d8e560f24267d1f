"""Run a real Celery verification worker in a subprocess, for tests.

    from tests.verifier.worker import running_worker

    @pytest.mark.django_db(transaction=True)     # the worker must see committed rows
    def test_something(...):
        with running_worker() as worker:         # waits until the worker is ready
            ...create a submission through the platform...
            wait_for_final(submission_id)        # polls the database

What ``running_worker(queue=None, concurrency=1, env=None, name=None, beat=False)`` does:

- starts ``celery -A zkarena_site worker --pool=prefork -Q <queue>.recovery,<queue>`` from the
  repository root
  in its own process group, on the test's database (pytest-django's ``test_…`` name, read
  from ``connection.settings_dict``), its broker (``settings.CELERY_BROKER_URL``: Redis under
  ``make test``) and its ``MEDIA_ROOT``, with ``zkarena_site.test_settings``;
- while the block runs, routes this process's ``submission_queued`` hand-off to that queue
  (``VERIFIER_ENQUEUE=True``, ``VERIFIER_QUEUE=<queue>`` through ``override_settings``), so
  uploads made by the test are verified by this worker and no other;
- with ``queue=None`` picks a unique queue name and purges it at the end; with a queue
  given, the caller owns it (use :func:`purge_queue` when done): that is how two workers,
  or a worker and its replacement, share one queue;
- ``env`` adds variables for the worker only (e.g. ``ZKARENA_TEST_VERIFY_DELAY``, the
  ``VERIFIER_*`` limits); ``beat=True`` embeds Celery beat (the periodic sweep);
- always stops the worker on exit: SIGTERM to the group, then SIGKILL after 10 s.
  ``worker.kill()`` sends SIGKILL to the whole group (main process and pool children) at
  once, as a crash or the OOM killer would; ``worker.log()`` returns its output so far.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.test import override_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
READY_SECONDS = 60


def database_url() -> str:
    """The URL of the database this test process uses (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("a worker process needs a shared database server (PostgreSQL)")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def new_queue_name() -> str:
    return f"zkarena-test-{uuid.uuid4().hex[:12]}"


def recovery_queue_of(queue: str) -> str:
    """The recovery queue that goes with a verification queue (settings.py's default)."""
    return f"{queue}.recovery"


@dataclass
class Worker:
    process: subprocess.Popen
    queue: str
    name: str
    log_path: Path

    @property
    def hostname_prefix(self) -> str:
        """What services record as the worker (``name@host``) starts with this."""
        return f"{self.name}@"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the main process and its pool children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        if sig == signal.SIGKILL:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)


def worker_env(queue: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zkarena_site.test_settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "VERIFIER_QUEUE": queue,
        # The installed project maps zkarena_site already; this also covers a bare checkout.
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT / "platform"), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("ZKARENA_TEST_VERIFY_DELAY", None)  # only where a test asks for it
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running_worker(
    *,
    queue: str | None = None,
    concurrency: int = 1,
    env: dict[str, str] | None = None,
    name: str | None = None,
    beat: bool = False,
) -> Iterator[Worker]:
    own_queue = queue is None
    queue = queue or new_queue_name()
    name = name or f"verifier-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="zkarena-worker-"))
    log_path = workdir / "worker.log"
    command = [
        CELERY, "-A", "zkarena_site", "worker",
        "--pool=prefork", f"--concurrency={concurrency}",
        "-Q", f"{recovery_queue_of(queue)},{queue}", "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    if beat:
        command += ["-B", f"--schedule={workdir / 'beat-schedule'}"]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=worker_env(queue, env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches the pool too
        )
    worker = Worker(process, queue, name, log_path)
    try:
        _wait_ready(worker)
        with override_settings(
            VERIFIER_ENQUEUE=True,
            VERIFIER_QUEUE=queue,
            VERIFIER_RECOVERY_QUEUE=recovery_queue_of(queue),
            VERIFIER_LARGE_QUEUE=f"{queue}-large",  # as the worker's settings derive it
        ):
            yield worker
    finally:
        worker.stop()
        if own_queue:
            purge_queue(queue)


def _wait_ready(worker: Worker) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if " ready." in worker.log():
            return
        if not worker.alive():
            code = worker.process.returncode
            raise RuntimeError(f"the worker exited with {code}:\n{worker.log()}")
        time.sleep(0.1)
    raise RuntimeError(f"the worker was not ready within {READY_SECONDS} s:\n{worker.log()}")


def broker_urls() -> dict[str, str]:
    """The two brokers the fault tests run on: ZKARENA_TEST_REDIS_URL (default: the
    configured broker if it is Redis, else local Redis DB 0) and ZKARENA_TEST_AMQP_URL
    (default: local RabbitMQ as guest). Each test uses its own uniquely named queues."""
    configured = settings.CELERY_BROKER_URL
    redis = os.environ.get("ZKARENA_TEST_REDIS_URL") or (
        configured if configured.startswith("redis://") else "redis://127.0.0.1:6379/0"
    )
    amqp = os.environ.get("ZKARENA_TEST_AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672//"
    return {"redis": redis, "rabbitmq": amqp}


def _switch_broker(url: str) -> None:
    from zkarena_site.celery import app

    # Only drop the references: kombu keeps its pools in a registry keyed by connection, so
    # closing one would hand a closed pool to the next user of the same URL.
    app._pool = None
    app.amqp._producer_pool = None
    # Celery prefers CELERY_BROKER_URL from the environment over broker_url; the read and
    # write URLs come before both.
    app.conf.broker_read_url = app.conf.broker_write_url = url
    app.conf.broker_transport_options = (
        {"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT}
        if url.startswith("redis://") else {}
    )


@contextlib.contextmanager
def using_broker(url: str) -> Iterator[None]:
    """This process and the workers it starts use the broker at ``url`` for the block."""
    from zkarena_site.celery import app

    old_url, old_options = app.conf.broker_write_url, app.conf.broker_transport_options
    _switch_broker(url)
    try:
        with override_settings(CELERY_BROKER_URL=url):
            yield
    finally:
        _switch_broker(old_url)
        app.conf.broker_transport_options = old_options


def purge_queue(queue: str) -> None:
    """Drop whatever is left in the queue, including (on Redis) messages a killed worker
    held unacknowledged, which Redis would otherwise hand back to the queue an hour later;
    on RabbitMQ the test's queues are deleted."""
    from zkarena_site.celery import app

    queues = (queue, recovery_queue_of(queue))
    with app.connection_for_write() as conn:
        amqp = conn.transport.driver_type == "amqp"
        for q in queues:
            channel = conn.channel()  # an AMQP error closes its channel: one per queue
            with contextlib.suppress(Exception):
                channel.queue_delete(q) if amqp else channel.queue_purge(q)
            with contextlib.suppress(Exception):
                channel.close()
        channel = conn.channel()
        client = getattr(channel, "client", None)
        if client is not None and hasattr(client, "hscan_iter"):
            unacked_key = getattr(channel, "unacked_key", "unacked")
            index_key = getattr(channel, "unacked_index_key", "unacked_index")
            for tag, payload in list(client.hscan_iter(unacked_key)):
                with contextlib.suppress(ValueError, TypeError, IndexError):
                    if json.loads(payload)[2] in queues:  # [message, exchange, routing key]
                        client.hdel(unacked_key, tag)
                        client.zrem(index_key, tag)
        channel.close()
