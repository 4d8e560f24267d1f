"""Operators' metrics in Prometheus' text format: GET /metrics (staff, or a client address
in METRICS_ALLOWED_NETWORKS).

Every series is computed at scrape time from what all hosts share — PostgreSQL and the
broker — so any web process answers for the whole platform (no per-process registry, no
multiprocess folder). The verification workers add one ``VerificationRun`` row per task
they run (``signals.py``, from Celery's task signals, so the verifier's own code is not
involved): its outcome, seconds and peak memory. The series are listed in
docs/operations.md; ``metrics.py`` builds them.
"""
