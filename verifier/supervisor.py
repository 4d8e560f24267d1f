"""The supervisor thread of a worker's main process: heartbeat and sweep, off the queues.

Started on ``worker_ready`` (verifier/apps.py), it upserts the worker's ``WorkerHeartbeat``
row every VERIFIER_HEARTBEAT_INTERVAL seconds and runs the sweep every
VERIFIER_SWEEP_INTERVAL seconds under a PostgreSQL advisory lock (one sweeper at a time
across all workers; the others skip that round). No message is involved, so a backlog in
the queues cannot starve it, and recovery of a dead claim starts within
lease + sweep interval. It stops on ``worker_shutdown``; SIGKILL just stops the heartbeat,
which is how health tells a dead worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the sweep: "zkarena sweep".
SWEEP_LOCK_KEY = 0x7A6B_5357


class Supervisor:
    def __init__(self, name: str, queues: str):
        self.name = name
        self.queues = queues
        self.started = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="verifier-supervisor",
                                        daemon=True)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        beat, every = settings.VERIFIER_HEARTBEAT_INTERVAL, settings.VERIFIER_SWEEP_INTERVAL
        next_beat = next_sweep = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                try:
                    if now >= next_beat:
                        self.heartbeat()
                        next_beat = now + beat
                    if now >= next_sweep:
                        self.sweep()
                        next_sweep = now + every
                except Exception:  # noqa: BLE001 - the database or broker may be down now
                    log.warning("verifier supervisor: round failed", exc_info=True)
                    _close()
                self._stop.wait(max(0.05, min(next_beat, next_sweep) - time.monotonic()))
        finally:
            _close()

    def heartbeat(self, swept: bool = False) -> None:
        from django.db.models import F

        from .models import WorkerHeartbeat

        now = timezone.now()
        updated = WorkerHeartbeat.objects.filter(name=self.name).update(
            pid=os.getpid(), queues=self.queues, last_seen=now,
            **({"sweeps": F("sweeps") + 1} if swept else {}),
        )  # fmt: skip
        if not updated:
            WorkerHeartbeat.objects.update_or_create(
                name=self.name,
                defaults={"pid": os.getpid(), "queues": self.queues, "last_seen": now,
                          "started_at": self.started},  # fmt: skip
            )

    def sweep(self) -> None:
        from .tasks import run_sweep

        if not _try_lock():
            return
        try:
            run_sweep()
        finally:
            _unlock()
        self.heartbeat(swept=True)


def _try_lock() -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _unlock() -> None:
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK_KEY])
    except DatabaseError:
        _close()  # a closed session releases its advisory locks


def _close() -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close
        log.debug("closing a broken database connection", exc_info=True)


_current: Supervisor | None = None


def on_worker_ready(sender=None, **kwargs) -> None:
    global _current
    consumer = sender
    hostname = getattr(consumer, "hostname", None) or f"worker-{os.getpid()}"
    queues = ""
    with contextlib.suppress(AttributeError):
        queues = ",".join(q.name for q in consumer.task_consumer.queues)
    _current = Supervisor(hostname, queues)
    _current.start()


def on_worker_shutdown(sender=None, **kwargs) -> None:
    if _current is not None:
        _current.stop()
        try:
            from .models import WorkerHeartbeat

            WorkerHeartbeat.objects.filter(name=_current.name).delete()
        except DatabaseError:
            log.warning("could not remove the heartbeat of %s", _current.name)
