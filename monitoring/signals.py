"""Celery task signals → one ``VerificationRun`` row per verification task a worker runs.

Connected in every process (web processes never run tasks, so nothing happens there). In
a prefork worker the signals fire in the pool process that runs the task: ``task_prerun``
resets that process's peak resident memory (Linux: ``/proc/self/clear_refs``), and
``task_postrun`` reads it back (``VmHWM``), so the figure is this task's peak, not the
process's lifetime peak. Where the reset is not possible the lifetime peak
(``ru_maxrss``) is recorded. Recording is best effort: a failure is logged and never
changes the task's outcome.
"""

from __future__ import annotations

import logging
import resource
import sys
import time

from celery import signals
from django.utils import timezone

log = logging.getLogger(__name__)

TASK = "verifier.tasks.verify_submission"
# task id → (perf_counter at start, whether the peak was reset)
_started: dict[str, tuple[float, bool]] = {}


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_bytes(reset: bool) -> int | None:
    if reset:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _on_prerun(sender=None, task_id=None, task=None, **kwargs) -> None:
    if getattr(task, "name", None) != TASK or not task_id:
        return
    _started[task_id] = (time.perf_counter(), _reset_peak())


def _on_postrun(sender=None, task_id=None, task=None, args=None, retval=None, state=None,
                **kwargs) -> None:  # fmt: skip
    if getattr(task, "name", None) != TASK or task_id not in _started:
        return
    start, reset = _started.pop(task_id)
    seconds = time.perf_counter() - start
    outcome = retval if state == "SUCCESS" and isinstance(retval, str) else "failed"
    request = getattr(task, "request", None)
    delivery = (getattr(request, "delivery_info", None) or {}) if request else {}
    try:
        from .models import VerificationRun

        VerificationRun.objects.create(
            submission_id=int((args or [0])[0]),
            task_id=task_id[:255],
            queue=str(delivery.get("routing_key") or "")[:255],
            worker=str(getattr(request, "hostname", "") or "")[:255],
            outcome=str(outcome)[:32],
            seconds=max(0.0, seconds),
            peak_memory_bytes=_peak_bytes(reset),
            finished_at=timezone.now(),
        )
    except Exception:  # noqa: BLE001 - metrics must never change a verification
        log.exception("could not record the metrics of task %s", task_id)


def connect() -> None:
    signals.task_prerun.connect(_on_prerun, dispatch_uid="monitoring.prerun", weak=False)
    signals.task_postrun.connect(_on_postrun, dispatch_uid="monitoring.postrun", weak=False)
