"""The verifier app: Celery workers that verify submissions, each exactly once.

Flow: the platform sends ``competitions.signals.submission_queued`` from
``transaction.on_commit``; ``receivers.enqueue_on_submission_queued`` sends
``tasks.verify_submission(submission_id)`` to ``settings.VERIFIER_QUEUE`` with soft/hard time
limits scaled by the competition's test-set size. The task is thin: ``services`` claims the
submission (``queued → verifying`` under ``SELECT … FOR UPDATE``), verifies the proof outside
any transaction from the stored test set, salt, architecture and commitment, and records
``verified`` (proven count, seconds, worker, attempts) or ``rejected`` (a reason line in
``verification_log``) under the row lock again, only if its claim still holds.

What cannot lose work, and why (docs/operations.md for operators):

- ``acks_late`` + ``reject_on_worker_lost`` + prefetch 1 (settings.py): a message is
  acknowledged only after its task returns, and a worker that dies holds at most one.
- Idempotent claims with leases (services.py): final or parked submissions are never
  claimed again; a claim whose lease is alive makes a duplicate a no-op; the same task id
  (a redelivery) or an expired lease takes it over (a platform fault); a superseded
  attempt's outcome is dropped; a message whose dispatch token was superseded is a no-op.
- Only the proof library's verdicts reject. Platform faults (lost worker, database, broker,
  storage, time limits) are counted in ``infra_failures``, recorded on a fresh connection,
  retried with backoff through ``VERIFIER_RECOVERY_QUEUE`` (consumed first), and after
  ``VERIFIER_INFRA_BUDGET`` parked in ``error`` for staff (``manage.py verifier_requeue``).
- The supervisor (supervisor.py): a thread in each worker's main process beats its
  heartbeat and runs the sweep under an advisory lock, off the queues: expired leases are
  taken over and re-sent to the recovery queue, queued rows whose message is provably lost
  are re-sent (``manage.py verifier_sweep`` runs it by hand).

Health: ``manage.py verifier_health [--json]`` and ``GET /api/verifier/health/`` (staff).

Running a worker: ``celery -A zkarena_site worker`` (installed project; from a bare checkout
``PYTHONPATH=platform``); without ``-Q`` it consumes the recovery queue, then the
verification queue. Beat is needed only for the timeline e-mails and reveal log entries.
With no ``CELERY_BROKER_URL`` the broker is the filesystem under var/.
Tests start real workers with ``tests/verifier/worker.py`` (``running_worker``).
"""
