"""Settings come from the environment, with an embedded default that needs no service."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from zkarena_site import settings as site_settings

# Prints what the site settings and the Celery app make of the environment.
REPORT_SETTINGS = """
import json, os
os.environ['DJANGO_SETTINGS_MODULE'] = 'zkarena_site.settings'
import django
django.setup()
from django.conf import settings
from zkarena_site.celery import app
conf = app.conf  # finalises the Celery configuration (and makes the broker folders)
options = conf.broker_transport_options or {}
folders = {k: v for k, v in options.items() if k.endswith('_folder') or '_folder_' in k}
print(json.dumps({
    'debug': settings.DEBUG,
    'engine': settings.DATABASES['default']['ENGINE'],
    'db_name': str(settings.DATABASES['default']['NAME']),
    'broker': conf.broker_url,
    'folders': {k: os.path.isdir(v) for k, v in folders.items()},
    'visibility_timeout': options.get('visibility_timeout'),
    'installed': settings.INSTALLED_APPS,
    'time_zone': settings.TIME_ZONE,
    'use_tz': settings.USE_TZ,
}))
"""

SERVICE_VARIABLES = {"DATABASE_URL": "", "CELERY_BROKER_URL": "", "DEBUG": ""}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("off", False)],
)
def test_env_bool_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("ZKARENA_TEST_FLAG", raw)
    assert site_settings.env_bool("ZKARENA_TEST_FLAG") is expected


def test_env_bool_rejects_other_words(monkeypatch):
    monkeypatch.setenv("ZKARENA_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="ZKARENA_TEST_FLAG"):
        site_settings.env_bool("ZKARENA_TEST_FLAG")


def test_env_list_and_int(monkeypatch):
    monkeypatch.setenv("ZKARENA_TEST_LIST", " a.example, ,b.example ")
    monkeypatch.setenv("ZKARENA_TEST_INT", "x")
    assert site_settings.env_list("ZKARENA_TEST_LIST", []) == ["a.example", "b.example"]
    assert site_settings.env_list("ZKARENA_TEST_UNSET", ["d"]) == ["d"]
    with pytest.raises(ImproperlyConfigured, match="ZKARENA_TEST_INT"):
        site_settings.env_int("ZKARENA_TEST_INT", 1)


def test_embedded_default_needs_no_service(run_python, tmp_path):
    result = run_python(["-c", REPORT_SETTINGS], env=SERVICE_VARIABLES)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["debug"] is False
    assert report["engine"] == "django.db.backends.sqlite3"
    assert report["db_name"] == str(tmp_path / "var" / "zkarena.sqlite3")
    assert report["broker"].startswith("filesystem://")
    assert report["folders"] == {
        "data_folder_in": True,
        "data_folder_out": True,
        "control_folder": True,
    }
    for app in ("rest_framework", "rest_framework.authtoken", "drf_spectacular"):
        assert app in report["installed"]
    assert {"competitions", "verifier"} <= set(report["installed"])
    assert (report["time_zone"], report["use_tz"]) == ("UTC", True)


def test_services_come_from_the_environment(run_python):
    env = {
        "DATABASE_URL": "postgres://someone@db.invalid:5433/elsewhere",
        "CELERY_BROKER_URL": "redis://broker.invalid:6379/3",
    }
    result = run_python(["-c", REPORT_SETTINGS], env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["engine"] == "django.db.backends.postgresql"
    assert report["db_name"] == "elsewhere"
    assert report["broker"] == "redis://broker.invalid:6379/3"
    assert report["folders"] == {}
    # Redis hands an unacknowledged message to another worker only after this long: it
    # must outlast the longest verification (settings.VERIFIER_SOFT_LIMIT_MAX + grace).
    assert report["visibility_timeout"] >= 3600


def test_secret_key_is_required_without_debug(run_python):
    code = "import zkarena_site.settings"
    result = run_python(["-c", code], env={"SECRET_KEY": "", "DEBUG": ""}, check=False)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr

    result = run_python(["-c", code], env={"SECRET_KEY": "", "DEBUG": "1"})
    assert result.returncode == 0


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "zkarena API"


def _documented_production_env() -> dict[str, str]:
    """docker/env.example as a deployment fills it in (its secrets generated here)."""
    import secrets

    from zkproofs.receipts import ReceiptSigningKey

    env = {}
    for line in (site_settings.BASE_DIR / "docker" / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["RECEIPT_SIGNING_KEY"] = ReceiptSigningKey.generate().to_bytes().hex()
    return {**env, "DEBUG": "", "DATABASE_URL": "", "CELERY_BROKER_URL": ""}


def test_deploy_check_is_clean_with_the_documented_production_environment(run_python):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_documented_production_env(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_transport_security_comes_from_the_environment(run_python):
    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'zkarena_site.settings'\n"
        "from django.conf import settings as s\n"
        "print(json.dumps([s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SECURE_PROXY_SSL_HEADER,"
        " s.REST_FRAMEWORK['NUM_PROXIES'], bool(s.CONTENT_SECURITY_POLICY)]))"
    )
    env = _documented_production_env()
    out = json.loads(run_python(["-c", code], env=env).stdout.strip().splitlines()[-1])
    assert out == [True, 31536000, True, True, ["HTTP_X_FORWARDED_PROTO", "https"], 1, True]
    bare = run_python(["-c", code], env={"DEBUG": "1"})
    assert json.loads(bare.stdout.strip().splitlines()[-1]) == [
        False, 0, False, False, None, 0, True
    ]  # fmt: skip
    bad = run_python(["-c", code], env={"DEBUG": "1", "SECURE_PROXY_SSL_HEADER": "https"},
                     check=False)  # fmt: skip
    assert bad.returncode != 0 and "SECURE_PROXY_SSL_HEADER" in bad.stderr


@pytest.mark.django_db
def test_every_response_carries_the_content_security_policy(client):
    for url in ("/", "/api/competitions/", "/accounts/login/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "'unsafe-eval'" not in policy


STORAGE_REPORT = """
import json, os
os.environ['DJANGO_SETTINGS_MODULE'] = 'zkarena_site.settings'
import django
django.setup()
from django.core.files.storage import storages
s = storages['default']
print(json.dumps({
    'class': type(s).__module__ + '.' + type(s).__name__,
    'bucket': getattr(s, 'bucket_name', None),
    'endpoint': getattr(s, 'endpoint_url', None),
    'location': getattr(s, 'location', None),
    'acl': getattr(s, 'default_acl', None),
    'overwrite': getattr(s, 'file_overwrite', None),
    'signed': getattr(s, 'querystring_auth', None),
    'expire': getattr(s, 'querystring_expire', None),
}))
"""


def test_storage_comes_from_the_environment(run_python, object_store):
    """Local files by default; with STORAGE_BUCKET an S3-compatible bucket with private
    objects and only signed, short-lived URLs, exactly as the tests' storages() builds it."""
    bare = json.loads(run_python(["-c", STORAGE_REPORT]).stdout.strip().splitlines()[-1])
    assert bare["class"] == "django.core.files.storage.filesystem.FileSystemStorage"

    env = {**object_store.env, "STORAGE_PREFIX": "site-a"}
    s3 = json.loads(run_python(["-c", STORAGE_REPORT], env=env).stdout.strip().splitlines()[-1])
    options = object_store.storages(prefix="site-a")["default"]["OPTIONS"]
    assert s3 == {
        "class": "storages.backends.s3.S3Storage",
        "bucket": options["bucket_name"],
        "endpoint": options["endpoint_url"],
        "location": "site-a",
        "acl": "private",
        "overwrite": False,
        "signed": True,
        "expire": 300,
    }
    bad = run_python(["-c", STORAGE_REPORT], env={**env, "STORAGE_CHECKSUMS": "always"},
                     check=False)  # fmt: skip
    assert bad.returncode != 0 and "STORAGE_CHECKSUMS" in bad.stderr
