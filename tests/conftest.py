"""Shared fixtures: the repository root and a runner for subprocesses of this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

# The real S3-compatible object store (s3rver, installed by `make objectstore`), started once
# per session when a test asks for it.
from tests.objectstore import object_store  # noqa: F401 - a fixture

# Real RFC 3161 timestamp authorities (OpenSSL's ts), started once per session when a test
# asks for them.
from tests.tsa import tsas  # noqa: F401 - a fixture

REPO_ROOT = Path(__file__).resolve().parent.parent

RunPython = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def run_python(tmp_path: Path) -> RunPython:
    """Run this interpreter in a subprocess from the repository root.

    With check (the default) a non-zero exit fails the test and shows the child's output.

    The child gets a throwaway SECRET_KEY and a private var/ folder, so that the site's
    embedded defaults never write into the working tree.
    """

    def run(
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        child_env = {
            **os.environ,
            "SECRET_KEY": "zkarena-subprocess-test-key-" + "y" * 32,
            "ZKARENA_VAR_DIR": str(tmp_path / "var"),
        }
        child_env.update(env or {})
        result = subprocess.run(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(args[:3])} exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
            )
        return result

    return run
