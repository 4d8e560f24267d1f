"""gunicorn settings for the site: `gunicorn -c python:zkarena_site.gunicorn_conf
zkarena_site.wsgi:application`.

With several worker processes, the web request series of GET /metrics (monitoring/web.py)
are kept per process in PROMETHEUS_MULTIPROC_DIR, an empty directory of this host set in
the environment before gunicorn starts: emptied here when gunicorn starts (old values
would add up with new ones), and a dead worker's live gauges are dropped when it exits.
Its counters and histograms stay, as Prometheus expects of counters."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        if path.exists():
            for entry in path.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
