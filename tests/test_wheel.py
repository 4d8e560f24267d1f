"""A competitor's install: the wheel ``make dist`` builds, without extras, in a fresh
virtual environment that holds nothing but the wheel and its declared dependencies.

Nothing is downloaded: the wheel is built here without build isolation (the tools are in
the project's venv) and installed with ``--no-index --no-deps``; its dependencies — only
those its metadata declares without an extra, followed recursively — are linked in from
the project's venv. ``pip check`` then proves the declared set is complete, ``import
django`` must fail there, and the command line runs a whole offline round: ``--help``,
``competition init``, ``commit`` (with ``--dry-run`` first, once the command has it),
``prove`` and ``verify``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.competitions.helpers import sample_arrays
from tests.test_client_flow import identity_onnx

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_ONLY = ("django", "rest_framework", "celery", "psycopg", "gunicorn", "redis")


def _run(args, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=600, **kwargs,
    )  # fmt: skip


def _build_wheel(tmp: Path) -> Path:
    """`make dist`'s build, on a copy of the tracked files (the work tree stays clean)."""
    src = tmp / "src"
    files = _run(["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True).stdout.split("\0")
    for name in filter(None, files):
        if (REPO_ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, src / name)
    out = _run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir",
                tmp / "dist", src])  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("zkarena-*.whl")
    return wheel


def _runtime_closure(wheel: Path) -> set[str]:
    """Distribution names the wheel needs without extras, with their own dependencies."""
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(meta).decode()
    todo = [Requirement(line.split(":", 1)[1].strip()) for line in text.splitlines()
            if line.startswith("Requires-Dist:")]  # fmt: skip
    needed: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in needed:
            continue
        needed.add(name)
        todo += [Requirement(r) for r in (metadata.requires(req.name) or [])]
    return needed


def _link_distribution(name: str, site: Path) -> None:
    dist = metadata.distribution(name)
    tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
    root = Path(dist.locate_file(""))
    for top in tops:
        target = site / top
        if not target.exists() and (root / top).exists():
            target.symlink_to(root / top)


@pytest.fixture(scope="module")
def competitor_env(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(tmp)
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     check=True).stdout.strip())  # fmt: skip
    needed = _runtime_closure(wheel)
    assert not {canonicalize_name(n) for n in ("django", "celery", "psycopg", "gunicorn",
                                               "djangorestframework")} & needed, needed
    for name in needed:
        _link_distribution(name, site)
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    out = _run([*pip, "install", "--no-index", "--no-deps", wheel])
    assert out.returncode == 0, out.stdout + out.stderr
    # Every requirement of everything installed there is satisfied: the declared base
    # dependencies are the whole story.
    out = _run([*pip, "check"])
    assert out.returncode == 0, out.stdout + out.stderr
    return env_dir


def _zkarena(env_dir: Path, *args, cwd: Path):
    drop = ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    clean["ZKARENA_CONFIG"] = str(cwd / "config.json")
    return _run([env_dir / "bin" / "zkarena", *args], cwd=cwd, env=clean)


def test_the_wheel_brings_no_server_stack(competitor_env, tmp_path):
    python = competitor_env / "bin" / "python"
    for module in SERVER_ONLY:
        out = _run([python, "-c", f"import {module}"], cwd=tmp_path)
        assert out.returncode != 0 and "ModuleNotFoundError" in out.stderr, (module, out)
    out = _run([python, "-c", "import zkproofs, zkproofs.accuracy, zkproofs.cli; "
                "print(zkproofs.__file__)"], cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert str(competitor_env) in out.stdout  # the installed copy, not the checkout


def test_a_competitor_round_offline_from_the_wheel(competitor_env, tmp_path):
    res = _zkarena(competitor_env, "--help", cwd=tmp_path)
    assert res.returncode == 0 and "audit" in res.stdout and "verify" in res.stdout, res

    x, y = sample_arrays()
    np.savez(tmp_path / "test.npz", x=x, y=y)
    np.savez(tmp_path / "cal.npz", x=x, y=y)
    identity_onnx(tmp_path / "model.onnx")
    res = _zkarena(competitor_env, "competition", "init", "--test-set", "test.npz",
                   "--classes", "3", "--threshold", "3/4", "--input-scale", "1",
                   "--input-min", "0", "--input-max", "15", "-o", "comp.json",
                   cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res
    submitter = "7d3c1a52-9a7e-4f0a-8a39-0f4a2c4b8e11"
    common = ["--competition", "comp.json", "--submitter", submitter, "--calibration", "cal.npz"]

    help_text = _zkarena(competitor_env, "commit", "--help", cwd=tmp_path).stdout
    if "--dry-run" in help_text:  # issue 9 adds it
        res = _zkarena(competitor_env, "commit", "model.onnx", *common, "--dry-run",
                       "-o", "dry.json", "--key", "dry.key", cwd=tmp_path)  # fmt: skip
        assert res.returncode == 0, res
        assert not (tmp_path / "dry.key").exists()  # nothing committed

    res = _zkarena(competitor_env, "commit", "model.onnx", *common, "-o", "commitment.json",
                   "--key", "secret.key", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res
    res = _zkarena(competitor_env, "prove", "--competition", "comp.json", "--test-set",
                   "test.npz", "--commitment", "commitment.json", "--key", "secret.key",
                   "--submitter", submitter, "-o", "proof.zkp", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res
    size = (tmp_path / "proof.zkp").stat().st_size
    assert f"wrote proof.zkp ({size} bytes)" in res.stdout  # the file's whole size
    res = _zkarena(competitor_env, "verify", "proof.zkp", "--competition", "comp.json",
                   "--test-set", "test.npz", "--commitment", "commitment.json",
                   "--submitter", submitter, cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res
    assert re.search(r"^VALID: the committed model labels at least 18/20", res.stdout, re.M)
