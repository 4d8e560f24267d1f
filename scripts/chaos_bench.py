"""Chaos benchmark of the verification workers (not a test; bounded, loopback only).

Seeds a PostgreSQL database of its own with one revealed competition, --competitors real
commitments and --submissions queued submissions (valid proofs, forged claims and other
competitors' proofs: about a fifth valid), starts two real Celery workers (prefork,
concurrency 1, production settings with short leases) on the chosen broker, sends every
submission, and while they drain:

- SIGKILLs --kills times, alternating between the workers, each time right when the
  target is verifying: two kills in three hit the pool process, one in three the whole
  worker (main process and pool), which is then restarted under the same name;
- drops every database connection of the workers (pg_terminate_backend) --db-drops times.

It then waits (at most --timeout s) until every submission is final and reports: lost
(still queued with nothing running), stuck (verifying or parked in error), duplicated
(an outcome recorded twice), wrongly rejected (a valid proof rejected) and wrongly
verified, the drain time, and the p50/p95/max time from a kill to its victim's final state
(the victim: the submission the killed process was verifying).

    .venv/bin/python scripts/chaos_bench.py \
        --database-url postgres://postgres@127.0.0.1:5432/zkarena_chaos_bench --broker both

The database in --database-url is created and dropped: its name must end in "bench".
Brokers: --redis-url (default redis://127.0.0.1:6379/15) and --amqp-url (default
amqp://guest:guest@127.0.0.1:5672//); queues are uniquely named and deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "platform")]
CELERY = str(Path(sys.executable).with_name("celery"))

WORKER_SETTINGS = {
    # Short leases and a fast sweep so that recovery is measured in seconds.
    "VERIFIER_LEASE_SECONDS": "2",
    "VERIFIER_SWEEP_INTERVAL": "0.5",
    "VERIFIER_HEARTBEAT_INTERVAL": "1",
    "VERIFIER_INFRA_BACKOFF_BASE": "0.5",
    "VERIFIER_INFRA_BACKOFF_MAX": "4",
    "VERIFIER_QUEUED_TIMEOUT": "10",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ------------------------------------------------------------------ seeding


def seed(competitors: int, submissions: int, samples: int) -> tuple[list[int], dict[int, bool]]:
    """Real commitments and proofs over a test set of ``samples`` samples (the larger, the
    longer each verification: more kills land mid-verification); rows written directly,
    as the drain test does."""
    import hashlib
    import math

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from competitions.models import Submission, User
    from competitions.services import commitments as commitment_service
    from competitions.services import competitions as competition_service
    from tests.competitions.helpers import (
        CREATED,
        REVEAL,
        SECOND,
        commit,
        commitment_files,
        competition_input,
        npz_bytes,
        sample_arrays,
        upload,
    )
    from zkproofs import accuracy

    organizer = User.objects.create_user("olga", "olga@example.org", "x", is_organizer=True)
    competition = competition_service.create_competition(
        organizer=organizer, data=competition_input(submission_limit=1000), now=CREATED
    )
    x, y = sample_arrays(samples)
    competition = competition_service.upload_test_set(
        competition, by=organizer, upload=upload("test.npz", npz_bytes(x, y)), now=CREATED
    )
    spec, salt = competition.spec(), bytes.fromhex(competition.test_set_salt)
    lowest, highest = math.ceil(3 * samples / 4), samples - 2  # the good model: N - 2 right
    per = -(-submissions // competitors)
    valid_each = max(1, per // 5)
    entries = []
    for i in range(competitors):
        user = User.objects.create_user(f"racer{i}", f"racer{i}@example.org", "x")
        committed = commit(competition, user)
        record = commitment_service.register_commitment(
            competition=competition, competitor=user, now=CREATED, **commitment_files(committed)
        )
        proofs = [
            accuracy.prove_accuracy(
                spec, x, y, salt, user.uuid, committed.architecture, committed.commitment,
                committed.opening, claimed=highest - k % (highest - lowest + 1),
            )
            for k in range(valid_each)
        ]  # fmt: skip
        entries.append((user, record, proofs))

    def forged(proof):
        other = proof.claimed - 1 if proof.claimed > lowest else proof.claimed + 1
        return _forged(proof, other)

    rows, expected = [], []
    for i, (user, record, proofs) in enumerate(entries):
        others = [p for j, (_, _, ps) in enumerate(entries) if j != i for p in ps]
        batch = [(p, True) for p in proofs]
        batch += [(forged(p), False) for p in proofs]
        batch += [(p, False) for p in others[: max(0, per - len(batch))]]
        for proof, ok in batch[:per]:
            data = proof.to_bytes()
            digest = hashlib.sha256(data).hexdigest()
            name = default_storage.save(f"proofs/{digest}.zkproof", ContentFile(data))
            rows.append(Submission(
                competition=competition, competitor=user, commitment=record,
                claimed_count=proof.claimed, proof=name, proof_sha256=digest,
                proof_size=len(data), created_at=REVEAL + SECOND,
            ))  # fmt: skip
            expected.append(ok)
    made = Submission.objects.bulk_create(rows[:submissions])
    return [s.pk for s in made], {s.pk: ok for s, ok in zip(made, expected, strict=False)}


def _forged(proof, claimed: int):
    """A valid proof under another claim: well-formed, but it must not verify."""
    import dataclasses

    return dataclasses.replace(proof, claimed=claimed)


# ------------------------------------------------------------------ workers


class Worker:
    def __init__(self, name: str, queue: str, env: dict[str, str], logdir: Path):
        self.name, self.queue, self.env, self.logdir = name, queue, env, logdir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.logdir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603
            [CELERY, "-A", "zkarena_site", "worker", "--pool=prefork", "--concurrency=1",
             "-Q", f"{self.queue}.recovery,{self.queue}", "-n", f"{self.name}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=WARNING"],
            cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def children(self) -> list[int]:
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_group()


def wait_ready(workers: list[Worker], timeout: float = 60) -> None:
    from verifier.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    names = {w.name for w in workers}
    while time.monotonic() < deadline:
        seen = {n.split("@")[0] for n in WorkerHeartbeat.objects.values_list("name", flat=True)}
        if names <= seen:
            return
        time.sleep(0.2)
    raise SystemExit(f"workers not ready within {timeout} s: {names}")


# ------------------------------------------------------------------ the run


def run(args, broker_url: str) -> dict:
    from datetime import timedelta

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from competitions.models import Submission, SubmissionStatus
    from verifier import tasks
    from verifier.models import WorkerHeartbeat

    rng = random.Random(args.seed)  # noqa: S311 - kill timing, not cryptography
    seeded = time.monotonic()
    ids, expected = seed(args.competitors, args.submissions, args.samples)
    print(f"[{args.broker}] seeded {len(ids)} submissions ({sum(expected.values())} valid) "
          f"in {time.monotonic() - seeded:.1f} s", flush=True)
    queue = os.environ["VERIFIER_QUEUE"]
    logdir = Path(os.environ["ZKARENA_VAR_DIR"]) / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **WORKER_SETTINGS}
    workers = [Worker(f"chaos{i}", queue, env, logdir) for i in range(2)]
    kills: list[dict] = []
    last_kill: dict[str, object] = {}
    epoch = timezone.now() - timedelta(days=1)
    drops = 0
    try:
        for w in workers:
            w.start()
        wait_ready(workers)
        started = time.monotonic()
        for pk in ids:
            tasks.enqueue(pk)
        drop_every = max(1, args.kills // max(1, args.db_drops))
        bound = started + args.timeout
        k = 0
        final = (SubmissionStatus.VERIFIED, SubmissionStatus.REJECTED)

        def remaining() -> int:
            return Submission.objects.filter(pk__in=ids).exclude(status__in=final).count()

        while k < args.kills and time.monotonic() < bound and remaining():
            target = workers[k % 2]
            if target.process.poll() is not None:
                target.start()
            # Wait until the target is verifying something, then kill right away.
            busy_deadline = time.monotonic() + 5
            while time.monotonic() < busy_deadline and not Submission.objects.filter(
                status=SubmissionStatus.VERIFYING,
                verification_worker__startswith=f"{target.name}@",
                verification_started_at__gt=last_kill.get(target.name, epoch),
            ).exists():
                time.sleep(0.01)
            whole = k % 3 == 2
            pids = target.children()
            at = timezone.now()
            t0 = time.monotonic()
            if whole or not pids:
                target.kill_group()
                kind = "worker"
            else:
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                kind = "pool"
            # The victim: what the killed process was verifying (claimed since the last kill
            # of this worker, so an earlier victim is not counted again).
            victims = list(
                Submission.objects.filter(
                    status=SubmissionStatus.VERIFYING,
                    verification_worker__startswith=f"{target.name}@",
                    verification_started_at__lte=at,
                    verification_started_at__gt=last_kill.get(target.name, epoch),
                ).values_list("id", flat=True)
            )
            last_kill[target.name] = at
            kills.append({"at": at, "t0": t0, "kind": kind, "victims": victims})
            if kind == "worker":
                time.sleep(rng.uniform(0.1, 0.5))
                target.start()
            k += 1
            if k % drop_every == 0 and drops < args.db_drops:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                drops += 1
            time.sleep(rng.uniform(0.05, 0.25))
        while drops < args.db_drops:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            drops += 1
            time.sleep(0.5)
        while time.monotonic() < bound:
            if Submission.objects.filter(pk__in=ids, status__in=final).count() == len(ids):
                break
            time.sleep(0.2)
        drained = time.monotonic() - started
        heartbeats = WorkerHeartbeat.objects.count()
    finally:
        for w in workers:
            w.stop()
        _delete_queues(queue)

    rows = {
        pk: (status, log, finished, infra)
        for pk, status, log, finished, infra in Submission.objects.filter(pk__in=ids).values_list(
            "id", "status", "verification_log", "verification_finished_at", "infra_failures"
        )
    }
    lost = [pk for pk, r in rows.items() if r[0] == SubmissionStatus.QUEUED]
    stuck = [pk for pk, r in rows.items() if r[0] in (SubmissionStatus.VERIFYING,
                                                     SubmissionStatus.ERROR)]  # fmt: skip
    duplicated = [
        pk for pk, r in rows.items()
        if sum(("verified on" in line) or ("rejected: " in line)
               for line in r[1].splitlines()) > 1
    ]  # fmt: skip
    wrongly_rejected = [pk for pk, r in rows.items()
                        if expected[pk] and r[0] == SubmissionStatus.REJECTED]  # fmt: skip
    wrongly_verified = [pk for pk, r in rows.items()
                        if not expected[pk] and r[0] == SubmissionStatus.VERIFIED]  # fmt: skip
    recovery, by_kind = [], {"pool": [], "worker": []}
    for kill in kills:
        for pk in kill["victims"]:
            finished = rows[pk][2]
            if finished is not None and rows[pk][0] in final:
                recovery.append((finished - kill["at"]).total_seconds())
                by_kind[kill["kind"]].append(recovery[-1])
    result = {
        "broker": args.broker,
        "submissions": len(ids),
        "valid": sum(expected.values()),
        "workers": 2,
        "kills": len(kills),
        "kills_pool": sum(1 for k in kills if k["kind"] == "pool"),
        "kills_worker": sum(1 for k in kills if k["kind"] == "worker"),
        "kills_with_victim": sum(1 for k in kills if k["victims"]),
        "db_drops": drops,
        "lost": len(lost),
        "stuck": len(stuck),
        "duplicated": len(duplicated),
        "wrongly_rejected": len(wrongly_rejected),
        "wrongly_verified": len(wrongly_verified),
        "platform_faults_counted": sum(r[3] for r in rows.values()),
        "drain_seconds": round(drained, 1),
        "kill_to_final_p50": round(statistics.median(recovery), 2) if recovery else None,
        "kill_to_final_p95": round(percentile(recovery, 0.95), 2) if recovery else None,
        "kill_to_final_max": round(max(recovery), 2) if recovery else None,
        "victims": len(recovery),
        "kill_to_final_p95_by_kind": {
            kind: round(percentile(v, 0.95), 2) for kind, v in by_kind.items() if v
        },
        "heartbeat_rows_at_end": heartbeats,
    }
    if lost or stuck:
        result["unfinished_sample"] = (lost + stuck)[:10]
    slow = [(rows[pk][2] - k["at"]).total_seconds() for k in kills for pk in k["victims"]
            if rows[pk][2] is not None]  # fmt: skip
    if slow and args.verbose:
        worst_kill, worst_pk = max(((k, pk) for k in kills for pk in k["victims"]
                                    if rows[pk][2] is not None),
                                   key=lambda kp: rows[kp[1]][2] - kp[0]["at"])  # fmt: skip
        result["slowest_victim"] = {"kill": worst_kill["kind"], "at": str(worst_kill["at"]),
                                    "log": rows[worst_pk][1].splitlines()}  # fmt: skip
    return result


def _delete_queues(queue: str) -> None:
    from zkarena_site.celery import app

    with app.connection_for_write() as conn:
        amqp = conn.transport.driver_type == "amqp"
        for q in (queue, f"{queue}.recovery"):
            channel = conn.channel()
            with contextlib.suppress(Exception):  # best effort cleanup
                channel.queue_delete(q) if amqp else channel.queue_purge(q)
            with contextlib.suppress(Exception):
                channel.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True,
                        help="postgres://…/NAME with NAME ending in 'bench' (created, dropped)")
    parser.add_argument("--broker", choices=("redis", "rabbitmq", "both"), default="both")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--submissions", type=int, default=600)
    parser.add_argument("--competitors", type=int, default=6)
    parser.add_argument("--samples", type=int, default=1000,
                        help="test-set size N (sets how long one verification takes)")
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--db-drops", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300, help="bound of one run (s)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="show the slowest recovery")
    args = parser.parse_args()

    if args.broker == "both":
        results = []
        for broker in ("redis", "rabbitmq"):
            argv = [a for a in sys.argv[1:] if a not in ("--broker", "both")]
            out = subprocess.run([sys.executable, __file__, *argv, "--broker", broker, "--json"],  # noqa: S603
                                 check=False, capture_output=True, text=True)  # fmt: skip
            sys.stderr.write(out.stderr)
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            if out.returncode != 0 or not lines:
                print(out.stdout)
                return out.returncode or 1
            results.append(json.loads(lines[-1]))
        for r in results:
            _print(r, args.json)
        return 0

    url = urllib.parse.urlsplit(args.database_url)
    name = url.path.lstrip("/")
    if url.scheme not in ("postgres", "postgresql") or not name.endswith("bench"):
        sys.exit("give a PostgreSQL URL whose database name ends in 'bench' (it is dropped)")
    for u in (args.database_url, args.redis_url, args.amqp_url):
        if urllib.parse.urlsplit(u).hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("the benchmark runs on this machine only (loopback)")
    name = f"{name.removesuffix('bench').rstrip('_')}_{args.broker}_bench"
    db_url = urllib.parse.urlunsplit(url._replace(path=f"/{name}"))
    admin_url = urllib.parse.urlunsplit(url._replace(path="/postgres"))

    import psycopg

    from zkproofs.receipts import ReceiptSigningKey

    def admin(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    var = REPO / "var" / f"chaos-bench-{args.broker}"
    subprocess.run(["rm", "-rf", str(var)], check=True)  # noqa: S603, S607
    var.mkdir(parents=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "zkarena_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_hex(32),
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": args.redis_url if args.broker == "redis" else args.amqp_url,
        "VERIFIER_QUEUE": f"chaos-{uuid.uuid4().hex[:10]}",
        "ZKARENA_VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "RECEIPT_SIGNING_KEY": ReceiptSigningKey.generate().to_bytes().hex(),
        "LOG_LEVEL": "WARNING",
        # Verdict e-mails go nowhere: no mail server on the loopback, nothing to time.
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    }
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],  # noqa: S603
                       cwd=REPO, env=os.environ, check=True)  # fmt: skip
        result = run(args, env["CELERY_BROKER_URL"])
    finally:
        from django.db import connections

        connections.close_all()
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _print(result, args.json)
    return 0


def _print(r: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(r, default=str))
        return
    print(
        f"{r['broker']}: {r['submissions']} submissions ({r['valid']} valid), 2 workers, "
        f"{r['kills']} SIGKILLs ({r['kills_pool']} pool, {r['kills_worker']} whole worker; "
        f"{r['kills_with_victim']} mid-verification), {r['db_drops']} database drops\n"
        f"  lost {r['lost']}, stuck {r['stuck']}, duplicated {r['duplicated']}, wrongly "
        f"rejected {r['wrongly_rejected']}, wrongly verified {r['wrongly_verified']}; "
        f"{r['platform_faults_counted']} platform faults counted\n"
        f"  drain {r['drain_seconds']} s; kill → victim final over {r['victims']} victims: "
        f"p50 {r['kill_to_final_p50']} s, p95 {r['kill_to_final_p95']} s, "
        f"max {r['kill_to_final_max']} s"
    )


if __name__ == "__main__":
    sys.exit(main())
