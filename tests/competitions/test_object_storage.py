"""Uploads in S3-compatible object storage (STORAGE_BUCKET): a real store on this machine
(s3rver, tests/objectstore.py), the site's own settings for it. The test set lives in the
bucket and nowhere on the web host's disk; the store never serves it to anyone without the
site's credentials, before or after the reveal; the site streams it, from the reveal on."""

from __future__ import annotations

import io
import secrets
import urllib.error
import urllib.request

import numpy as np
import pytest

from .helpers import REVEAL, SECOND, sample_arrays, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3(settings, object_store):
    """This test's uploads go to the object store, under a prefix of their own."""
    prefix = f"t-{secrets.token_hex(6)}"
    settings.STORAGES = object_store.storages(prefix=prefix)
    return object_store, prefix


def _anonymous(url: str) -> int:
    """The status of an unsigned GET (no credentials, as a browser or a crawler sends it)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own store
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_test_set_is_in_the_bucket_private_and_streamed_by_the_site(
    s3, api, clock, make_competition, media_root
):
    store, prefix = s3
    competition = make_competition()
    name = competition.test_set_file.name
    client = store.client()

    # Stored in the bucket under the prefix, nothing on this host's disk.
    listing = client.list_objects_v2(Bucket=store.bucket, Prefix=prefix)["Contents"]
    keys = [o["Key"] for o in listing]
    assert keys == [f"{prefix}/{name}"]
    assert stored_files(media_root) == []
    stored = client.get_object(Bucket=store.bucket, Key=f"{prefix}/{name}")["Body"].read()
    with np.load(io.BytesIO(stored)) as arrays:
        x, y = sample_arrays()
        assert (arrays["x"] == x).all() and (arrays["y"] == y).all()

    object_url = f"{store.endpoint}/{store.bucket}/{prefix}/{name}"
    listing_urls = [
        f"{store.endpoint}/{store.bucket}",
        f"{store.endpoint}/{store.bucket}?list-type=2&prefix={prefix}",
        f"{store.endpoint}/",
    ]
    # The control: the store does serve an object whose owner made it public, so the
    # refusals below come from how the site stores its files, not from a store that
    # refuses everything.
    client.put_object(
        Bucket=store.bucket, Key=f"{prefix}/public.txt", Body=b"public", ACL="public-read"
    )
    assert _anonymous(f"{store.endpoint}/{store.bucket}/{prefix}/public.txt") == 200

    # Before the reveal: neither the store nor the site gives the test set to the public.
    assert _anonymous(object_url) == 403
    assert all(_anonymous(url) == 403 for url in listing_urls)
    # (the storage backend never hands out a public address: url() is signed)
    assert "Signature=" in competition.test_set_file.url
    data_url = f"/api/competitions/{competition.slug}/test-set/data/"
    assert api("anonymous").get(data_url).status_code == 403
    assert api("competitor").get(data_url).status_code == 403
    organizer = api("organizer").get(data_url)
    assert organizer.status_code == 200
    assert b"".join(organizer.streaming_content) == stored

    # From the reveal the site streams it to anyone; the store still serves nobody.
    clock.set(REVEAL + SECOND)
    public = api("anonymous").get(data_url)
    assert public.status_code == 200
    assert b"".join(public.streaming_content) == stored
    assert _anonymous(object_url) == 403
    assert all(_anonymous(url) == 403 for url in listing_urls)
