"""The verifier app: Celery workers that verify submissions, each exactly once.

Flow: the platform sends ``competitions.signals.submission_queued`` from
``transaction.on_commit``; ``receivers.enqueue_on_submission_queued`` sends
``tasks.verify_submission(submission_id)`` to ``settings.VERIFIER_QUEUE`` with soft/hard time
limits scaled by the competition's test-set size. The task is thin: ``services`` claims the
submission (``queued → verifying`` under ``SELECT … FOR UPDATE``), verifies the proof outside
any transaction from the stored test set, salt, architecture and commitment, and records
``verified`` (proven count, seconds, worker, attempts) or ``rejected`` (a reason line in
``verification_log``) under the row lock again, only if its claim still holds.

What cannot lose work, and why:

- ``acks_late`` + ``reject_on_worker_lost`` + prefetch 1 (settings.py): a message is
  acknowledged only after its task returns, and a worker that dies holds at most one.
- Idempotent claims (services.py): final submissions are never claimed again; a claim held
  by a live task makes a duplicate a no-op; the same task id (a redelivery or a retry) or a
  stale claim takes it over, and a superseded attempt's outcome is dropped.
- Retries with exponential backoff only for transient errors (tasks.TRANSIENT); an invalid
  proof is a rejection, never an exception.
- The sweep (``tasks.sweep_stuck_submissions``, run by Celery beat every
  ``VERIFIER_SWEEP_INTERVAL`` s, or ``manage.py verifier_sweep``): stale ``verifying`` claims
  go back to ``queued`` and are re-sent, ``queued`` rows untouched for
  ``VERIFIER_QUEUED_TIMEOUT`` s are re-sent (their message was lost), and after
  ``VERIFIER_MAX_ATTEMPTS`` attempts a submission is rejected with the last error.

Health: ``manage.py verifier_health [--json]`` and ``GET /api/verifier/health/`` (staff).

Running a worker: ``celery -A zkarena_site worker`` (installed project; from a bare checkout
``PYTHONPATH=platform``), plus ``celery -A zkarena_site beat`` for the sweep (or ``-B`` on a
single worker). With no ``CELERY_BROKER_URL`` the broker is the filesystem under var/.
Tests start real workers with ``tests/verifier/worker.py`` (``running_worker``).
"""
