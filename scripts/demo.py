"""`make demo`: one digits competition end to end on the embedded default.

An organizer publishes a competition over scikit-learn's digits (360 test samples, only
the salted digest public); two competitors commit a logistic regression and an MLP through
the real `zkarena` command line against a running site; the reveal comes at its time
(enforced by the server); both prove and submit; a real Celery worker verifies; the
leaderboard is printed, one entry is re-verified independently with the pure-Python
reference backend, and the site keeps serving at a printed local URL until Ctrl-C.

Everything lives in var/demo/ (SQLite, filesystem Celery broker, uploads, the competitors'
config and key files), wiped at each run: no service, no stdin. `--no-serve` (or
DEMO_EXIT=1) stops after the end-to-end part, for tests and CI.

This script imports no Django: it drives the site as its users would, through
subprocesses (manage.py, runserver, celery, zkarena) and the REST API.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # zkproofs, when run from a checkout without installing

from zkproofs import client as api  # noqa: E402
from zkproofs.ml import datasets  # noqa: E402

BIN = Path(sys.executable).parent
MARKER = ".zkarena-demo"  # only a folder carrying it is ever wiped
SLUG = "digits"
ORGANIZER = ("olga", "olga-organizes-42")
COMPETITORS = {"alice": ("alice-lr-secret-17", "lr"), "bob": ("bob-mlp-secret-23", "mlp")}
ADMIN = ("admin", "admin-demo-pass-9")


def say(text: str = "") -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"\n==> {text}")


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        # Each service runs in its own process group (Celery's pool children included).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


class DemoError(Exception):
    pass


class Demo:
    def __init__(self, var: Path, port: int, reveal_after: float):
        self.var = var
        self.port = port
        self.reveal_after = reveal_after
        self.url = f"http://127.0.0.1:{port}"
        self.services: list[Service] = []
        self.env = {
            **os.environ,
            # Production settings on the embedded default: the site's own error pages (no
            # debug pages), its own keys, mails printed to the web server's log.
            "DEBUG": "0",
            "SECRET_KEY": "demo-" + secrets.token_hex(32),
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "ZKARENA_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "zkarena_site.settings",
            # The embedded default, whatever the caller's shell (or `make`) exports.
            "DATABASE_URL": "",
            "CELERY_BROKER_URL": "",
            "CACHE_URL": "",
            "RECEIPT_SIGNING_KEY": "",
            "MEDIA_ROOT": "",
            "VERIFIER_QUEUE": "",
            "VERIFIER_ENQUEUE": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]),
            "PYTHONUNBUFFERED": "1",
        }

    # -------------------------------------------------------------- processes

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        # Every argv here is built by this script from constants, never from input.
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=REPO, env={**self.env, **(extra_env or {})},
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode != 0:
            raise DemoError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self, name: str, argv: list[str]) -> Service:
        log = self.var / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(  # noqa: S603
                argv, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def wait_for(self, service: Service, ready, what: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if ready():
                return
            if service.process.poll() is not None:
                raise DemoError(f"the {service.name} exited:\n{service.log.read_text()[-3000:]}")
            time.sleep(0.25)
        raise DemoError(f"{what} not ready after {seconds:.0f} s; see {service.log}")

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def zkarena(self, who: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """The real command line, as the competitor `who` on their own machine."""
        home = self.var / who
        env = {**self.env, "ZKARENA_CONFIG": str(home / "config.json"),
               "ZKARENA_PASSWORD": COMPETITORS[who][0]}  # fmt: skip
        script = BIN / "zkarena"
        argv = [str(script)] if script.exists() else [sys.executable, "-m", "zkproofs.cli"]
        say(f"  {who}$ zkarena {' '.join(args)}")
        result = subprocess.run(  # noqa: S603
            [*argv, *args], cwd=home, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        for line in (result.stdout + result.stderr).splitlines():
            say(f"    {line}")
        if check and result.returncode != 0:
            raise DemoError(f"`zkarena {args[0]}` as {who} exited {result.returncode}")
        return result

    # -------------------------------------------------------------- the story

    def setup_site(self) -> None:
        step(f"setting up the site in {self.var} (SQLite, filesystem broker)")
        # With DEBUG off the site signs receipts only with a configured key.
        self.env["RECEIPT_SIGNING_KEY"] = self.manage("generate_receipt_key").strip()
        self.manage("migrate", "--noinput")
        self.manage("createsuperuser", "--noinput", "--username", ADMIN[0],
                    "--email", "admin@example.org",
                    extra_env={"DJANGO_SUPERUSER_PASSWORD": ADMIN[1]})  # fmt: skip
        # Accounts through the platform's own services: sign-up, then organizer rights
        # granted by staff (as in the admin).
        code = (
            "from competitions.models import User\n"
            "from competitions.services import accounts\n"
            f"admin = User.objects.get(username={ADMIN[0]!r})\n"
            f"olga = accounts.sign_up(username={ORGANIZER[0]!r}, email='olga@example.org', "
            f"password={ORGANIZER[1]!r})\n"
            "accounts.set_organizer(olga, by=admin, organizer=True)\n"
        )
        for name, (password, _) in COMPETITORS.items():
            code += (f"accounts.sign_up(username={name!r}, email='{name}@example.org', "
                     f"password={password!r})\n")
        self.manage("shell", "-c", code)
        say(f"  accounts: organizer {ORGANIZER[0]}, competitors {', '.join(COMPETITORS)}, "
            f"staff {ADMIN[0]}")

        step(f"starting the web server on {self.url} and a Celery verification worker")
        # --insecure: runserver serves the static files (the API docs' Swagger UI) with DEBUG
        # off; a deployment serves them from STATIC_ROOT (collectstatic) instead.
        web = self.start("web", [sys.executable, "manage.py", "runserver", "--noreload",
                                 "--insecure", f"127.0.0.1:{self.port}"])  # fmt: skip
        probe = api.Client(self.url, timeout=5)

        def web_ready() -> bool:
            try:
                probe.competitions()
                return True
            except api.ClientError:
                return False

        self.wait_for(web, web_ready, "the web server")
        celery = BIN / "celery"
        worker = self.start("worker", [
            str(celery) if celery.exists() else "celery", "-A", "zkarena_site", "worker",
            "--pool=prefork", "--concurrency=1", "-n", "demo-verifier@%h", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
        ])  # fmt: skip
        self.wait_for(worker, lambda: " ready." in worker.log.read_text(errors="replace"),
                      "the worker")
        say(f"  web: {self.url} (log {web.log}); worker ready (log {worker.log})")

    def train(self) -> tuple[object, object]:
        step("competitors train their models (scikit-learn digits, exported to ONNX)")
        import numpy as np
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
        from sklearn.datasets import load_digits
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier

        x, y = load_digits(return_X_y=True)
        x_tr, x_te, y_tr, y_te = train_test_split(
            x.astype(np.int64), y.astype(np.int64), test_size=0.2, random_state=0
        )
        models = {
            "lr": LogisticRegression(max_iter=2000),
            "mlp": MLPClassifier(hidden_layer_sizes=(32,), max_iter=600, random_state=0),
        }
        for name, (_, kind) in COMPETITORS.items():
            home = self.var / name
            home.mkdir(mode=0o700)
            model = models[kind]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(x_tr, y_tr)
            onx = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, 64]))],
                                  options={id(model): {"zipmap": False}})
            (home / f"{kind}.onnx").write_bytes(onx.SerializeToString())
            datasets.save_npz(home / "calibration.npz", x_tr, y_tr)
            say(f"  {name}: {type(model).__name__} → {home / f'{kind}.onnx'} "
                f"(float accuracy on the training data {model.score(x_tr, y_tr):.3f})")
        return x_te, y_te

    def publish(self, x_te, y_te) -> datetime:
        step("the organizer publishes the competition (only the salted digest is public)")
        site = api.Client(self.url)
        site.token = site.obtain_token(*ORGANIZER)
        now = datetime.now(UTC)
        reveal_at = (now + timedelta(seconds=self.reveal_after)).replace(microsecond=0)
        site.create_competition({
            "slug": SLUG, "title": "Handwritten digits (demo)",
            "description": "scikit-learn digits, 8×8 images with pixels 0–16; 360 test samples.",
            "input_shape": [64], "input_min": 0, "input_max": 16, "input_scale": 1,
            "num_classes": 10, "threshold": "9/10", "max_parameters": 5000,
            "reveal_at": reveal_at.isoformat(),
            "proof_deadline": (reveal_at + timedelta(days=7)).isoformat(),
        })  # fmt: skip
        path = self.var / "organizer-test-set.npz"
        datasets.save_npz(path, x_te, y_te)
        comp = site.upload_test_set(SLUG, "digits-test.npz", path.read_bytes())
        say(f"  {SLUG}: {comp['test_set']['num_samples']} test samples, threshold "
            f"{comp['threshold']} (at least {comp['required_correct']} correct)")
        say(f"  published digest SHA-256(salt ‖ test set) = {comp['test_set']['digest']}")
        say(f"  commitments close at the reveal: {reveal_at.isoformat()} "
            f"(in {self.reveal_after:.0f} s)")
        return reveal_at

    def commit(self) -> None:
        step("competitors log in and commit to their hidden weights (before the reveal)")
        for name, (_, kind) in COMPETITORS.items():
            self.zkarena(name, "login", self.url, "--username", name)
            self.zkarena(name, "commit", f"{kind}.onnx", "--competition", SLUG,
                         "--calibration", "calibration.npz")

    def wait_for_reveal(self, reveal_at: datetime) -> None:
        step("waiting for the reveal (the server enforces the timeline)")
        while (left := (reveal_at - datetime.now(UTC)).total_seconds()) > 0:
            say(f"  {left:4.0f} s to the reveal")
            time.sleep(min(5.0, left + 0.5))
        say("  revealed: the test set and its salt are public now")

    def prove_and_submit(self) -> dict[str, int]:
        step("competitors download the test set, check its digest, prove and submit")
        ids = {}
        for name in COMPETITORS:
            self.zkarena(name, "prove", "--competition", SLUG)
            result = self.zkarena(name, "submit", "proof.zkp", "--wait", "600")
            for line in result.stdout.splitlines():
                if line.startswith("submission #"):
                    ids[name] = int(line.split("#", 1)[1].split()[0])
        return ids

    def finish(self, ids: dict[str, int]) -> dict:
        step("the leaderboard (verified claims only)")
        self.zkarena("alice", "leaderboard", SLUG)
        board = api.Client(self.url).leaderboard(SLUG)
        (self.var / "leaderboard.json").write_text(json.dumps(board, indent=2) + "\n")
        step("anyone re-verifies an entry from the site's files (pure-Python reference backend)")
        self.zkarena("alice", "verify", "--submission", str(ids["alice"]), "--url", self.url)
        return board


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(var: Path) -> None:
    if var.exists():
        if not (var / MARKER).exists():
            raise DemoError(f"{var} exists and is not a demo folder; refusing to wipe it")
        shutil.rmtree(var)
    var.mkdir(parents=True)
    (var / MARKER).write_text("made by scripts/demo.py; wiped at each run\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--var-dir", type=Path, default=REPO / "var" / "demo",
                        help="the demo's folder, wiped first (default var/demo)")
    parser.add_argument("--port", type=int, default=0, help="web port (default: a free one)")
    parser.add_argument("--reveal-after", type=float, default=40,
                        help="seconds from publication to the reveal (default 40)")
    parser.add_argument("--no-serve", action="store_true",
                        help="exit after the end-to-end run (also DEMO_EXIT=1)")
    args = parser.parse_args(argv)
    no_serve = args.no_serve or os.environ.get("DEMO_EXIT", "") not in ("", "0")
    # SIGTERM (a supervisor, `kill`, a closed terminal's SIGHUP) ends the demo like Ctrl-C:
    # through the finally below, which stops the web server and the worker.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    var = args.var_dir.resolve()
    demo = Demo(var, args.port or free_port(), args.reveal_after)
    started = time.monotonic()
    try:
        prepare(var)
        x_te, y_te = demo.train()
        demo.setup_site()
        reveal_at = demo.publish(x_te, y_te)
        demo.commit()
        demo.wait_for_reveal(reveal_at)
        ids = demo.prove_and_submit()
        board = demo.finish(ids)
        verified = len(board["rows"])
        step(f"done in {time.monotonic() - started:.0f} s: {verified} verified entries")
        say(f"  leaderboard: {demo.url}/competitions/{SLUG}/")
        say(f"  API:         {demo.url}/api/competitions/{SLUG}/leaderboard/ "
            f"(docs: {demo.url}/api/docs/)")
        say(f"  admin:       {demo.url}/admin/ (user {ADMIN[0]}, password {ADMIN[1]})")
        if verified != len(COMPETITORS):
            raise DemoError(f"expected {len(COMPETITORS)} verified entries, found {verified}")
        if no_serve:
            return 0
        say("\nserving until Ctrl-C")
        while all(s.process.poll() is None for s in demo.services):
            time.sleep(1)
        say("a service stopped; see the logs in " + str(var))
        return 1
    except KeyboardInterrupt:
        say("\nstopping")
        return 0
    except (DemoError, api.ClientError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.stop_all()


if __name__ == "__main__":
    sys.exit(main())
