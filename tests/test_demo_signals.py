"""`make demo` sent SIGTERM (a supervisor, `kill`) stops its web server and its Celery
worker before it exits, as Ctrl-C does: nothing it started is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _processes_of(var: Path) -> list[int]:
    """Processes whose environment names this demo's folder (web, worker, its children)."""
    needle = f"ZKARENA_VAR_DIR={var}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue  # gone, or not ours
    return found


def test_sigterm_stops_the_demos_server_and_worker(tmp_path):
    var = tmp_path / "demo"
    demo = subprocess.Popen(
        [sys.executable, "scripts/demo.py", "--var-dir", str(var), "--reveal-after", "600"],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    seen = []
    try:
        # Until the site and the worker run: the step after "starting the web server".
        started = False
        for line in demo.stdout:
            seen.append(line)
            if "starting the web server" in line:
                started = True
            elif started and line.startswith("==> "):
                break
        assert started, "".join(seen)
        assert len(_processes_of(var)) >= 2, "".join(seen)  # web server and worker
        demo.send_signal(signal.SIGTERM)
        rest, _ = demo.communicate(timeout=90)
        seen.append(rest)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, "".join(seen)
    assert "stopping" in "".join(seen)
    deadline = time.monotonic() + 10  # killed process groups may take a moment to go
    while _processes_of(var) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_of(var) == []
