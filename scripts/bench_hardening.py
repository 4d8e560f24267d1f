"""What a hostile request costs before it is refused (issue 12). A measurement, not a test.

upload    The site's WSGI application, in this process, on a throwaway embedded database
          (SQLite under a temporary folder; DATABASE_URL is ignored): a competitor without a
          commitment uploads a MAX_PROOF_BYTES proof file (a real header, then repeated
          points), and the server time until the refusal is reported (target: < 50 ms).
          For comparison: the same with a Content-Length over the limit, and the
          commitment's owner uploading the same size with a well-formed header (refused
          after the header: its declared length is not the exact size the committed
          architecture and N give, zkproofs.accuracy.expected_proof_bytes).
verifier  zkproofs.accuracy.verify_accuracy, in a subprocess per run (wall time and peak
          RSS, with an address-space limit), on a crafted architecture (a wide hidden
          layer, within the competition's parameter limit) and a 1 KiB bogus proof: what
          the verifier spends before it rejects (target: < 1 s, < 200 MB).

    .venv/bin/python scripts/bench_hardening.py [--part upload|verifier] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "platform")]


# ------------------------------------------------------------------ upload


def _multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "bench-boundary-7f3a"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="proof.zkp"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _call(app, path: str, token: str, body: bytes, content_type: str, length: int | None = None):
    """One request through the WSGI application; (status, seconds, body)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body) if length is None else length),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    status = []
    start = time.perf_counter()
    chunks = app(environ, lambda s, h, exc_info=None: status.append(s))
    try:
        out = b"".join(chunks)
    finally:
        chunks.close()  # as a WSGI server does: closes the request's uploaded files
    seconds = time.perf_counter() - start
    return int(status[0].split()[0]), seconds, out


def bench_upload(runs: int, var: str) -> list[dict]:
    os.environ.update(
        {
            "ZKARENA_VAR_DIR": var,
            "DATABASE_URL": "",
            "CELERY_BROKER_URL": "",
            "DEBUG": "",
            "SECRET_KEY": "zkarena-bench-only-" + "b" * 40,
            "VERIFIER_ENQUEUE": "0",
            "LOG_LEVEL": "ERROR",
            "DJANGO_SETTINGS_MODULE": "zkarena_site.settings",
        }
    )
    from zkproofs.receipts import ReceiptSigningKey

    os.environ["RECEIPT_SIGNING_KEY"] = ReceiptSigningKey.generate().to_bytes().hex()
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.utils import timezone

    from competitions.models import User
    from competitions.services import accounts
    from competitions.services import commitments as commitment_service
    from competitions.services import competitions as competition_service
    from tests.competitions.helpers import (
        commit,
        commitment_files,
        competition_input,
        npz_bytes,
        prove,
        sample_arrays,
    )

    logging.getLogger("django.request").setLevel(logging.ERROR)  # the refusals are expected
    call_command("migrate", verbosity=0)
    now = timezone.now()
    organizer = User.objects.create_user("olga", "", "pw", is_organizer=True)
    owner = User.objects.create_user("alice", "", "pw")
    stranger = User.objects.create_user("mallory", "", "pw")
    created = now - timedelta(days=10)
    competition = competition_service.create_competition(
        organizer=organizer,
        data=competition_input(
            reveal_at=now - timedelta(days=1),
            proof_deadline=now + timedelta(days=6),
            submission_limit=1000,
        ),
        now=created,
    )
    x, y = sample_arrays()
    competition = competition_service.upload_test_set(
        competition,
        by=organizer,
        upload=SimpleUploadedFile("t.npz", npz_bytes(x, y)),
        now=created,
    )
    committed = commit(competition, owner)
    commitment_service.register_commitment(
        competition=competition,
        competitor=owner,
        now=created + timedelta(days=1),
        **commitment_files(committed),
    )
    real = prove(competition, owner, committed).to_bytes()
    header, point = real[:134], real[184:232]  # the first auxiliary-row commitment
    limit = settings.MAX_PROOF_BYTES
    body_length = limit - 134
    body = (point * (body_length // 48 + 1))[:body_length]
    big = header[:126] + body_length.to_bytes(8, "big") + body

    app = get_wsgi_application()
    path = f"/api/competitions/{competition.slug}/submissions/"
    tokens = {u.username: accounts.token_for(u).key for u in (owner, stranger)}
    cases = []
    payload, content_type = _multipart({}, "proof", big)
    over, over_type = _multipart({}, "proof", big + b"\0" * (128 * 1024))
    _call(app, path, tokens["mallory"], b"", content_type)  # warm up imports and routes
    for name, token, data, ctype in [
        ("no commitment, 16 MiB proof", tokens["mallory"], payload, content_type),
        ("owner, body over the limit", tokens["alice"], over, over_type),
        ("owner, 16 MiB well-formed header", tokens["alice"], payload, content_type),
    ]:
        seconds, statuses = [], set()
        for _ in range(runs):
            status, took, answer = _call(app, path, token, data, ctype)
            statuses.add(status)
            seconds.append(took)
        cases.append(
            {
                "part": "upload",
                "case": name,
                "request_bytes": len(data),
                "status": sorted(statuses),
                "code": json.loads(answer).get("code") or "-",
                "median_ms": round(1000 * statistics.median(seconds), 2),
                "max_ms": round(1000 * max(seconds), 2),
                "runs": len(seconds),
            }
        )
    return cases


# ------------------------------------------------------------------ verifier

_VERIFY_CHILD = r"""
import json, resource, sys, time, uuid
sys.path[:0] = [sys.argv[1]]
limit = int(sys.argv[3]) << 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
from fractions import Fraction
from zkproofs import accuracy
from zkproofs.competition import CompetitionSpec
from zkproofs.ml import datasets
from zkproofs.ml.architecture import Architecture, Dense, QuantizedModel

hidden, n = (int(v) for v in sys.argv[2].split(","))
rng = np.random.default_rng(0)  # public test data for a measurement, nothing secret
x = rng.integers(0, 17, size=(n, 64), dtype=np.int64)
y = rng.integers(0, 10, size=n, dtype=np.int64)
salt = bytes(32)
spec = CompetitionSpec(uuid.UUID(int=1), datasets.salted_digest(x, y, salt), n, 10, (64,), 1,
                       Fraction(1, 10), (0, 16))
arch = Architecture((64,), (0, 16), (
    Dense(64, hidden, weight_bits=8, bias_bits=16, shift=4, relu=True),
    Dense(hidden, 10, weight_bits=8, bias_bits=16),
))
weights = {"layers.0.weight": np.zeros((hidden, 64), np.int64),
           "layers.0.bias": np.zeros(hidden, np.int64),
           "layers.1.weight": np.zeros((10, hidden), np.int64),
           "layers.1.bias": np.zeros(10, np.int64)}
submitter = uuid.UUID(int=2)
committed = accuracy.commit_model(QuantizedModel(arch, weights), spec, submitter)
bogus = b"ZKAP" + bytes(1020)  # 1 KiB that claims to be a proof
start = time.perf_counter()
try:
    accuracy.verify_accuracy(spec, x, y, salt, submitter, committed.architecture,
                             committed.commitment, n // 10 + 1, bogus)
    outcome = "accepted (!)"
except MemoryError:
    outcome = "MemoryError (address-space limit)"
except Exception as exc:
    outcome = f"rejected: {type(exc).__name__}: {str(exc)[:120]}"
seconds = time.perf_counter() - start
print(json.dumps({"outcome": outcome, "seconds": round(seconds, 3),
                  "parameters": arch.weight_count}))
"""


def bench_verifier(configs: list[tuple[int, int]], memory_mb: int, timeout: float) -> list[dict]:
    rows = []
    for hidden, n in configs:
        start = time.perf_counter()
        try:
            child = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
                [sys.executable, "-c", _VERIFY_CHILD, str(REPO), f"{hidden},{n}", str(memory_mb)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            lines = child.stdout.strip().splitlines()
            result = json.loads(lines[-1]) if lines else {"outcome": child.stderr[-300:]}
        except subprocess.TimeoutExpired:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            result = {"outcome": f"no verdict within {timeout:.0f} s (killed)"}
        rows.append(
            {
                "part": "verifier",
                "architecture": f"64 -> {hidden} -> ReLU -> 10",
                "N": n,
                **result,
                "wall_seconds_with_setup": round(time.perf_counter() - start, 2),
                # ru_maxrss of the children so far: the largest child is the last and biggest
                "peak_rss_mb": round(usage.ru_maxrss / 1024),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["upload", "verifier", "all"], default="all")
    parser.add_argument("--runs", type=int, default=7, help="uploads per case (default 7)")
    parser.add_argument(
        "--verifier-configs",
        default="32,360;128,360;256,360;512,360",
        help="hidden width,N pairs separated by ';' (default: 32,360;128,360;256,360;512,360)",
    )
    parser.add_argument("--memory-mb", type=int, default=3072, help="address-space limit")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    rows = []
    if args.part in ("verifier", "all"):  # first: its children must not inherit Django
        configs = [tuple(int(v) for v in c.split(",")) for c in args.verifier_configs.split(";")]
        rows += bench_verifier(configs, args.memory_mb, args.timeout)
    if args.part in ("upload", "all"):
        var = tempfile.mkdtemp(prefix="zkarena-bench-")
        try:
            rows += bench_upload(args.runs, var)
        finally:
            shutil.rmtree(var, ignore_errors=True)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        elif row["part"] == "upload":
            print(f"upload   {row['case']:<45} {row['status']} {row['code']:<20} "
                  f"median {row['median_ms']:8.2f} ms  max {row['max_ms']:8.2f} ms "
                  f"({row['runs']} runs, {row['request_bytes']} bytes)")
        else:
            print(f"verifier {row['architecture']:<24} N={row['N']:<5} {row['outcome']}; "
                  f"{row.get('seconds', '-')} s before the verdict, peak RSS "
                  f"{row['peak_rss_mb']} MB ({row.get('parameters', '-')} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
