"""What the verifier keeps besides the submissions: one heartbeat row per live worker.

Each worker's main process (verifier/supervisor.py) upserts its row every
VERIFIER_HEARTBEAT_INTERVAL seconds; health reports a worker as alive when its row is
younger than VERIFIER_WORKER_DEAD_AFTER, so a SIGKILLed worker drops out on its own.
"""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    name = models.CharField(max_length=255, unique=True)  # Celery hostname, name@host
    pid = models.PositiveIntegerField()
    queues = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    sweeps = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid}, seen {self.last_seen:%H:%M:%S})"
