"""The real S3-compatible object store of the tests: s3rver (tools/objectstore/, installed by
`make objectstore` from its committed lock file), started once per session on a free port
of 127.0.0.1 with a fresh bucket, fresh credentials and a temporary data folder.

``object_store`` yields an :class:`ObjectStore`; ``store.env`` is what a process needs to use
it (the STORAGE_* variables of settings.py), ``store.storages()`` the STORAGES setting for
this test process, ``store.client()`` a boto3 client with the credentials.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER = REPO_ROOT / "tools" / "objectstore" / "server.js"
READY_SECONDS = 30


@dataclass(frozen=True)
class ObjectStore:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    directory: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "STORAGE_BUCKET": self.bucket,
            "STORAGE_ENDPOINT_URL": self.endpoint,
            "STORAGE_REGION": "us-east-1",
            "STORAGE_ACCESS_KEY": self.access_key,
            "STORAGE_SECRET_KEY": self.secret_key,
            "STORAGE_ADDRESSING_STYLE": "path",
        }

    def storages(self, prefix: str = "") -> dict:
        """The STORAGES setting that settings.py builds from ``env`` (plus a prefix), for
        override_settings in this test process (tests/test_settings.py checks that the
        environment gives the same)."""
        from django.conf import settings

        from zkarena_site.settings import _s3_client_config

        return {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": self.bucket,
                    "endpoint_url": self.endpoint,
                    "region_name": "us-east-1",
                    "access_key": self.access_key,
                    "secret_key": self.secret_key,
                    "location": prefix,
                    "default_acl": "private",
                    "file_overwrite": False,
                    "querystring_auth": True,
                    "querystring_expire": 300,
                    "client_config": _s3_client_config(
                        addressing_style="path", signature_version=None, checksums="when_required"
                    ),
                },
            },
            "staticfiles": settings.STORAGES["staticfiles"],
        }

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )


@pytest.fixture(scope="session")
def object_store(tmp_path_factory) -> ObjectStore:
    node = shutil.which("node")
    if node is None or not (SERVER.parent / "node_modules" / "s3rver").is_dir():
        pytest.fail("the object store is not installed: run `make objectstore` (make test does)")
    folder = tmp_path_factory.mktemp("objectstore")
    store_dir = folder / "data"
    store_dir.mkdir()
    log_path = folder / "server.log"
    bucket = f"zkarena-{secrets.token_hex(4)}"
    access_key, secret_key = secrets.token_hex(10).upper(), secrets.token_hex(20)
    env = {
        **os.environ,
        "OBJECTSTORE_PORT": "0",
        "OBJECTSTORE_DIR": str(store_dir),
        "OBJECTSTORE_BUCKET": bucket,
        "OBJECTSTORE_ACCESS_KEY": access_key,
        "OBJECTSTORE_SECRET_KEY": secret_key,
    }
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [node, str(SERVER)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        endpoint = None
        while endpoint is None:
            text = log_path.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith("listening on "):
                    endpoint = line.removeprefix("listening on ").strip()
            if endpoint is None:
                if process.poll() is not None:
                    pytest.fail(f"the object store exited {process.returncode}:\n{text}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the object store did not start in {READY_SECONDS} s:\n{text}")
                time.sleep(0.05)
        yield ObjectStore(endpoint, bucket, access_key, secret_key, store_dir)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
