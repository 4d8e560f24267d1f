"""Load benchmark of the public pages and the leaderboard API under gunicorn (not a test).

Seeds a PostgreSQL database with one revealed competition whose leaderboard has
--competitors rows (10,000 by default, one verified submission each), starts gunicorn on
127.0.0.1 (--workers processes, --threads each), then --clients threads, each with its own
keep-alive connection, request in turn the competition page, the leaderboard page and the
leaderboard API (first page) until --requests requests each have been made or --seconds
have passed, whichever comes first. Prints p50, p95 and max latency per URL; --json for a
machine-readable line. Loopback only; the server is stopped and the database dropped at
the end.

    .venv/bin/python scripts/bench_site.py --database-url postgres://postgres@127.0.0.1:5432/zkarena_bench

The database named in --database-url is created, filled and dropped: it must be one the
benchmark owns (its name must end in "bench").
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "platform")]
SLUG = "bench"


def seed(competitors: int) -> None:
    """One revealed competition, `competitors` verified entries (rows written directly, as
    the leaderboard tests do: only the read side is measured)."""
    from datetime import timedelta

    import django

    django.setup()
    from django.utils import timezone

    from competitions.models import ModelCommitment, Submission, User
    from competitions.services import competitions as competition_service
    from tests.competitions.helpers import (
        commitment_row,
        competition_input,
        npz_bytes,
        sample_arrays,
        submission_row,
        upload,
    )

    now = timezone.now()
    organizer = User.objects.create_user("olga", "olga@example.org", "x", is_organizer=True)
    created = now - timedelta(days=3)
    comp = competition_service.create_competition(
        organizer=organizer,
        data=competition_input(slug=SLUG, reveal_at=now - timedelta(days=1),
                               proof_deadline=now + timedelta(days=6),
                               description="A benchmark competition.\n\n" * 20),
        now=created,
    )  # fmt: skip
    x, y = sample_arrays()
    comp = competition_service.upload_test_set(
        comp, by=organizer, upload=upload("t.npz", npz_bytes(x, y)), now=created
    )
    users = User.objects.bulk_create(
        [User(username=f"competitor{i:05d}") for i in range(competitors)],
        batch_size=2000,
    )
    commitments = ModelCommitment.objects.bulk_create(
        [commitment_row(comp, u, created + timedelta(seconds=i), f"b{i}")
         for i, u in enumerate(users)], batch_size=2000,
    )  # fmt: skip
    reveal = comp.reveal_at
    rows = []
    for i, c in enumerate(commitments):
        done = reveal + timedelta(seconds=5 * i)
        rows.append(submission_row(c, 15 + (i * 7) % 6, "verified", created_at=done,
                                   finished_at=done))  # fmt: skip
    Submission.objects.bulk_create(rows, batch_size=2000)
    print(f"seeded {competitors} ranked competitors", flush=True)


def run_clients(port: int, paths: list[str], clients: int, requests: int, seconds: float):
    latencies: dict[str, list[float]] = {p: [] for p in paths}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(requests):
            if time.monotonic() > stop_at:
                break
            path = paths[(index + n) % len(paths)]
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept": "text/html,application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                with lock:
                    errors.append(f"{path}: {exc}")
                continue
            elapsed = time.perf_counter() - start
            with lock:
                if status == 200:
                    latencies[path].append(elapsed)
                else:
                    errors.append(f"{path}: HTTP {status}")
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True,
                        help="postgres://…/NAME with NAME ending in 'bench' (created, dropped)")
    parser.add_argument("--competitors", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60, help="per client (bound)")
    parser.add_argument("--seconds", type=float, default=60, help="time bound of the run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true",
                        help="seed and stop: keep the database for profiling (no server)")
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.database_url)
    name = url.path.lstrip("/")
    if url.scheme not in ("postgres", "postgresql") or not name.endswith("bench"):
        sys.exit("give a PostgreSQL URL whose database name ends in 'bench' (it is dropped)")
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the benchmark runs on this machine only (loopback)")
    admin_url = urllib.parse.urlunsplit(url._replace(path="/postgres"))

    import psycopg

    from zkproofs.receipts import ReceiptSigningKey

    def admin(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}"')
    admin(f'CREATE DATABASE "{name}"')
    var = REPO / "var" / "bench-site"
    var.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zkarena_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_hex(32),
        "DATABASE_URL": args.database_url,
        "ZKARENA_VAR_DIR": str(var),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CACHE_URL": "",
        "RECEIPT_SIGNING_KEY": ReceiptSigningKey.generate().to_bytes().hex(),
        # Every client comes from 127.0.0.1: the per-address limits would throttle the
        # run itself, which measures rendering, not refusals.
        "THROTTLE_ANON": "1000000/minute",
        "THROTTLE_PAGES": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    }
    os.environ.update(env)
    bin_dir = Path(sys.executable).parent
    server = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],  # noqa: S603
                       cwd=REPO, env=env, check=True)  # fmt: skip
        seed(args.competitors)
        if args.keep:
            print(f"kept {name}")
            return 0
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(  # noqa: S603
            [str(bin_dir / "gunicorn"), "zkarena_site.wsgi:application", "-b",
             f"127.0.0.1:{port}", "-w", str(args.workers), "--threads", str(args.threads),
             "--worker-class", "gthread", "--log-level", "warning"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/receipt-key/")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("gunicorn did not start")
                time.sleep(0.3)
        paths = [f"/competitions/{SLUG}/", f"/competitions/{SLUG}/leaderboard/",
                 f"/api/competitions/{SLUG}/leaderboard/"]
        # Warm-up, not measured: every connection of every worker process is made, and each
        # process has ranked the board once (its first request does; later ones reuse it).
        run_clients(port, paths, args.clients, len(paths), 60)
        started = time.monotonic()
        latencies, errors = run_clients(port, paths, args.clients, args.requests, args.seconds)
        took = time.monotonic() - started
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    names = {paths[0]: "competition page", paths[1]: "leaderboard page",
             paths[2]: "leaderboard API"}  # fmt: skip
    result = {
        "competitors": args.competitors, "clients": args.clients, "seconds": round(took, 1),
        "workers": args.workers, "threads": args.threads, "errors": len(errors),
        "urls": {
            names[p]: {
                "requests": len(v),
                "p50_ms": round(1000 * statistics.median(v), 1) if v else None,
                "p95_ms": round(1000 * percentile(v, 0.95), 1) if v else None,
                "max_ms": round(1000 * max(v), 1) if v else None,
            }
            for p, v in latencies.items()
        },
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.competitors} ranked competitors, {args.clients} clients, gunicorn "
              f"{args.workers}×{args.threads} threads, {took:.1f} s, {len(errors)} errors")
        for label, r in result["urls"].items():
            print(f"  {label:17} {r['requests']:5} requests  p50 {r['p50_ms']} ms  "
                  f"p95 {r['p95_ms']} ms  max {r['max_ms']} ms")
    for e in errors[:5]:
        print(f"  error: {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
