"""The services the platform runs on in CI answer for real.

Under CI (CI=true) the suite must run against PostgreSQL and a Redis broker, never the
embedded defaults; outside CI these checks run whenever the settings point at the service.
"""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings
from django.db import connection

UNDER_CI = os.environ.get("CI", "").lower() == "true"


@pytest.mark.django_db
def test_database_is_postgresql_under_ci():
    if not UNDER_CI and connection.vendor != "postgresql":
        pytest.skip("embedded SQLite run (set DATABASE_URL, or run `make test`)")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), version()")
        database, version = cursor.fetchone()
    # pytest-django runs on its own test database, never on the configured one.
    assert database.startswith("test_")
    assert version.startswith("PostgreSQL")


def test_redis_broker_answers_ping():
    url = settings.CELERY_BROKER_URL
    if not UNDER_CI and not url.startswith("redis://"):
        pytest.skip(f"broker is {url.split(':')[0]}, not Redis")
    assert url.startswith("redis://"), f"CI must use a Redis broker, not {url}"
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        assert client.ping() is True
    finally:
        client.close()
