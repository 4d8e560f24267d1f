"""Web and workers as if on three hosts: they share PostgreSQL, the broker and the object
store (a real S3-compatible server, tests/objectstore.py), and no filesystem. Each worker
gets an empty MEDIA_ROOT of its own; the test process is the web host."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request

import pytest

from competitions.models import Submission, SubmissionStatus
from tests.competitions.helpers import GOOD_CORRECT, stored_files

from .conftest import wait_for_final
from .worker import new_queue_name, purge_queue, running_worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("needs_postgresql"),
]


@pytest.fixture
def s3_prefix(settings, object_store) -> str:
    """The web process (this one) stores into the object store, under a fresh prefix."""
    prefix = f"hosts-{secrets.token_hex(6)}"
    settings.STORAGES = object_store.storages(prefix=prefix)
    return prefix


def test_two_worker_hosts_verify_uploads_from_the_web_host(
    s3_prefix, object_store, arena, media_root, tmp_path
):
    # Four competitors, each with a valid proof uploaded through the web host's services.
    entries = [arena.enter(name) for name in ("alice", "bob", "carol", "dave")]
    proofs = [entry.proof(arena.competition) for entry in entries]
    queue = new_queue_name()
    hosts = {name: tmp_path / name / "media" for name in ("host-a", "host-b")}
    for root in hosts.values():
        root.mkdir(parents=True)
    env = {**object_store.env, "STORAGE_PREFIX": s3_prefix}
    # Each verification holds its worker a second, so that while one host is busy the other
    # takes the next message: both must do some of the work.
    slow = {"ZKARENA_TEST_VERIFY_DELAY": "1"}
    try:
        with (
            running_worker(queue=queue, name="host-a",
                           env={**env, **slow, "MEDIA_ROOT": str(hosts["host-a"])}) as a,
            running_worker(queue=queue, name="host-b",
                           env={**env, **slow, "MEDIA_ROOT": str(hosts["host-b"])}) as b,
        ):  # fmt: skip
            submissions = [arena.submit(e, p) for e, p in zip(entries, proofs, strict=True)]
            wait_for_final([s.pk for s in submissions], timeout=120)
    finally:
        purge_queue(queue)

    rows = list(Submission.objects.filter(pk__in=[s.pk for s in submissions]))
    assert {r.status for r in rows} == {SubmissionStatus.VERIFIED}, [
        (r.pk, r.status, r.verification_log) for r in rows
    ]
    assert {r.proven_count for r in rows} == {GOOD_CORRECT}
    by = {r.verification_worker.split("@")[0] for r in rows}
    assert by == {"host-a", "host-b"}, (by, a.log()[-2000:], b.log()[-2000:])
    # Nothing was written on any host's disk: proofs and the test set are in the bucket.
    assert stored_files(media_root) == []
    assert all(stored_files(root) == [] for root in hosts.values())
    listing = object_store.client().list_objects_v2(Bucket=object_store.bucket, Prefix=s3_prefix)
    keys = {o["Key"] for o in listing["Contents"]}
    expected = {arena.competition.test_set_file.name} | {r.proof.name for r in rows}
    assert keys == {f"{s3_prefix}/{name}" for name in expected}
    # The store itself serves none of it to anyone without the site's key: not the test set
    # (the competition is before its reveal), not a proof, not a listing.
    base = f"{object_store.endpoint}/{object_store.bucket}"
    for url in [f"{base}/{key}" for key in sorted(keys)] + [base, f"{base}?prefix={s3_prefix}"]:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)  # noqa: S310 - our own store
        assert refused.value.code == 403, url
