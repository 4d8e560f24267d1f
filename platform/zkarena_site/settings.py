"""Django settings for zkarena, read from environment variables.

With nothing set, the site runs embedded on one machine: SQLite and a filesystem Celery
broker under var/ (only DEBUG=1 or a SECRET_KEY is needed). A deployment sets at least
SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).

Variables: DEBUG, SECRET_KEY, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, DATABASE_URL,
CONN_MAX_AGE, CELERY_BROKER_URL, CELERY_RESULT_BACKEND, ZKARENA_VAR_DIR, MEDIA_ROOT,
STATIC_ROOT, SECURE_COOKIES, SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS,
SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD, SECURE_PROXY_SSL_HEADER,
CONTENT_SECURITY_POLICY, TRUSTED_PROXY_COUNT, LOG_LEVEL, CACHE_URL, RECEIPT_SIGNING_KEY,
MAX_REQUEST_BYTES, MAX_TEST_SET_BYTES, MAX_PROOF_BYTES, MAX_DATA_FILE_BYTES,
MAX_DATA_FILES, LEADERBOARD_CACHE_SECONDS, EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL, SITE_URL, THROTTLE_ANON, THROTTLE_USER,
THROTTLE_AUTH, THROTTLE_LOGIN_FAILURES, THROTTLE_SIGNUP, THROTTLE_UPLOAD, THROTTLE_PAGES,
CELERY_VISIBILITY_TIMEOUT, the STORAGE_* variables of uploads in object storage,
METRICS_ALLOWED_NETWORKS and the VERIFIER_* settings of the verification workers (see
"verification workers" below and verifier/__init__.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or `default` when it is unset or empty."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    """A boolean variable; anything but a recognised spelling is an error, not False."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


# platform/zkarena_site/settings.py → the repository root is two folders up.
BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Everything the embedded default writes (SQLite database, broker queue, uploads).
VAR_DIR = Path(env_str("ZKARENA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string, "
            "or DEBUG=1 for a local development run."
        )
    # Only ever used with DEBUG on; the prefix makes `manage.py check --deploy` flag it.
    SECRET_KEY = "django-insecure-zkarena-development-key-not-for-deployment"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files, served by the site itself (/api/docs/): no CDN.
    "drf_spectacular_sidecar",
    "competitions",
    "verifier",
    # GET /metrics for operators, from what every host shares (monitoring/__init__.py).
    "monitoring",
]

MIDDLEWARE = [
    # Counts and times every request, refusals by the middleware below included (/metrics).
    "monitoring.web.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Refuses oversized bodies from Content-Length alone, before anything is parsed.
    "competitions.middleware.RequestSizeLimitMiddleware",
    "competitions.middleware.ContentSecurityPolicyMiddleware",
    # Pages per client address (THROTTLE_PAGES); the API has its own throttles.
    "competitions.middleware.PageThrottleMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zkarena_site.urls"
WSGI_APPLICATION = "zkarena_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL in production and CI; the embedded default is a SQLite file under var/.
_DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'zkarena.sqlite3'}"
DATABASES = {
    # parse(), not config(): an empty DATABASE_URL means "unset" here, as for every variable.
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _DEFAULT_DATABASE_URL),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates the file but not its folder.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite has no row locks (SELECT … FOR UPDATE is a no-op there): taking the write lock
    # when a transaction begins serialises writers instead, so per-competitor limits hold
    # on the embedded default too.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Accounts carry an immutable UUID, the submitter id every proof is bound to (DESIGN §3).
AUTH_USER_MODEL = "competitions.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "competition-list"
LOGOUT_REDIRECT_URL = "competition-list"

# Throttle counters live in the cache: one process's memory by default, Redis when
# CACHE_URL is set (needed as soon as several web processes serve the site).
_CACHE_URL = env_str("CACHE_URL")
if _CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Uploaded files (test sets, proofs, data files) go through Django's storage API: into
# MEDIA_ROOT by default, or into an S3-compatible bucket when STORAGE_BUCKET is set, so that
# web processes and workers on different hosts share no filesystem (docs/operations.md).
# MEDIA_URL is deliberately not routed, and nothing stored gets a public URL: a test set
# must not be downloadable before its reveal, so every download streams through a view
# that checks the timeline and visibility. A deployment must not expose MEDIA_ROOT through
# its web server, nor make the bucket public (objects are written with the private ACL).


def _s3_client_config(*, addressing_style, signature_version, checksums):
    from botocore.config import Config

    if checksums not in ("when_required", "when_supported"):
        raise ImproperlyConfigured(
            f"STORAGE_CHECKSUMS={checksums!r}: use when_required or when_supported"
        )
    return Config(
        s3={"addressing_style": addressing_style} if addressing_style else None,
        signature_version=signature_version,
        request_checksum_calculation=checksums,
        response_checksum_validation=checksums,
    )


STORAGE_BUCKET = env_str("STORAGE_BUCKET")
if STORAGE_BUCKET:
    _storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            # Empty: AWS itself; MinIO, Ceph, R2, … give their address.
            "endpoint_url": env_str("STORAGE_ENDPOINT_URL") or None,
            "region_name": env_str("STORAGE_REGION") or None,
            # Empty: boto3's own chain (instance role, ~/.aws, AWS_* variables).
            "access_key": env_str("STORAGE_ACCESS_KEY") or None,
            "secret_key": env_str("STORAGE_SECRET_KEY") or None,
            # A prefix inside the bucket, so one bucket can serve several sites.
            "location": env_str("STORAGE_PREFIX"),
            "default_acl": "private",
            # Never overwrite: every stored name is unique, a clash gets a suffix.
            "file_overwrite": False,
            # url() is never used by the site; if it were, only a short-lived signed URL.
            "querystring_auth": True,
            "querystring_expire": env_int("STORAGE_SIGNED_URL_SECONDS", 300),
            # Addressing, signature and checksums in one client configuration. Checksums
            # only where S3 requires them: stores other than AWS (older MinIO, Ceph, …)
            # refuse or mangle the chunked uploads that boto3 sends by default now.
            "client_config": _s3_client_config(
                addressing_style=env_str("STORAGE_ADDRESSING_STYLE") or None,
                signature_version=env_str("STORAGE_SIGNATURE_VERSION") or None,
                checksums=env_str("STORAGE_CHECKSUMS", "when_required"),
            ),
        },
    }
else:
    _storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Upload limits (bytes). The request limit is checked from Content-Length before parsing;
# the per-kind limits when the file arrives. Commitment sizes follow from each
# competition's parameter limit.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 80 * 1024 * 1024)
MAX_TEST_SET_BYTES = env_int("MAX_TEST_SET_BYTES", 64 * 1024 * 1024)
MAX_PROOF_BYTES = env_int("MAX_PROOF_BYTES", 16 * 1024 * 1024)
# Training-data files an organizer publishes: each at most this large, this many per
# competition.
MAX_DATA_FILE_BYTES = env_int("MAX_DATA_FILE_BYTES", 64 * 1024 * 1024)
MAX_DATA_FILES = env_int("MAX_DATA_FILES", 20)
# Seconds each web process reuses a competition's ranked leaderboard while nothing it knows
# of changed it (selectors.py); 0 computes it on every request.
LEADERBOARD_CACHE_SECONDS = env_int("LEADERBOARD_CACHE_SECONDS", 10)

# The secret half of the key that signs commitment receipts: 32-byte scalar, hex
# (`manage.py generate_receipt_key` makes one). Required unless DEBUG, when a development
# key is generated once into RECEIPT_SIGNING_KEY_FILE. The public half is served at
# /api/receipt-key/.
RECEIPT_SIGNING_KEY = env_str("RECEIPT_SIGNING_KEY")
RECEIPT_SIGNING_KEY_FILE = VAR_DIR / "receipt-signing-key.hex"

# ------------------------------------------------------------------ e-mail
# Password resets and notifications (competitions/services/notifications.py). In
# development (DEBUG) mails are printed on the console unless a backend is set; a
# deployment sets EMAIL_HOST (SMTP) or another EMAIL_BACKEND.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST") or not DEBUG
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "zkarena <noreply@localhost>")
# The site's public address, for links in e-mails sent outside a request (the worker, the
# periodic notifier).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The exact line competitors run to install the command line, shown on every competition's
# "how to take part" tab (a deployment that serves its own wheel says so here).
ZKARENA_INSTALL_LINE = env_str("ZKARENA_INSTALL_LINE", "pip install zkarena")
# How long before the proof deadline competitors who have not submitted are reminded.
NOTIFY_DEADLINE_HOURS = env_int("NOTIFY_DEADLINE_HOURS", 24)

# ------------------------------------------------------------------ transport security
# Behind HTTPS, cookies must never travel in clear; off by default so that the embedded
# default works over plain http://localhost. docker/env.example sets the production values
# below, with which `manage.py check --deploy` is clean.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
# Redirect http:// to https:// (the TLS terminator must then say which requests were https:
# SECURE_PROXY_SSL_HEADER).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
# HTTP Strict Transport Security: seconds browsers keep to https only (0: no header).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)


def _proxy_ssl_header(raw: str) -> tuple[str, str] | None:
    """"X-Forwarded-Proto=https" → ("HTTP_X_FORWARDED_PROTO", "https"): the header, set by
    the TLS-terminating proxy (and stripped from what clients send), that marks a request
    as https. Unset: no header is trusted."""
    if not raw.strip():
        return None
    name, sep, value = raw.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={raw!r}: write it as Header-Name=value, "
            "e.g. X-Forwarded-Proto=https"
        )
    return "HTTP_" + name.strip().upper().replace("-", "_"), value.strip()


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env_str("SECURE_PROXY_SSL_HEADER"))
# Sent with every response (competitions.middleware.ContentSecurityPolicyMiddleware). The
# pages load nothing from elsewhere and run no inline script; their styles are inline.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
)

# Reverse proxies in front of the site (0: clients connect to it directly, as in the compose
# file). Each appends the address it received from to X-Forwarded-For; throttles and the
# login lockout trust exactly that many entries from the end. Set it to the real count:
# one too many lets a client choose its address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticatedOrReadOnly",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every refusal becomes {"detail": ..., "code": ...} (plus "errors" per field).
    "EXCEPTION_HANDLER": "competitions.api.errors.exception_handler",
    # Clients are told apart by REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies
    # by the X-Forwarded-For entry that many from the end. Never by a header the client
    # chose: without a count DRF used the whole header, which a client can rotate.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_CLASSES": [
        "competitions.api.throttles.AnonThrottle",
        "competitions.api.throttles.UserThrottle",
    ],
    # ?limit= from 1 to 1000 (default PAGE_SIZE), ?offset= from 0; anything else is a 400.
    "DEFAULT_PAGINATION_CLASS": "competitions.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
}

# Request rates ("N/second|minute|hour|day"); read on every request, so tests and
# deployments can change them. "auth" is password attempts per client address (login page
# and token endpoint together), "login_failures" failed logins per account (past it the
# account is locked until its failures leave the window), "signup" accounts created per
# client address, "upload" per account on every POST that carries a file or creates a row.
THROTTLE_RATES = {
    "anon": env_str("THROTTLE_ANON", "300/minute"),
    "user": env_str("THROTTLE_USER", "1200/minute"),
    "auth": env_str("THROTTLE_AUTH", "20/minute"),
    "login_failures": env_str("THROTTLE_LOGIN_FAILURES", "10/hour"),
    "signup": env_str("THROTTLE_SIGNUP", "10/hour"),
    "upload": env_str("THROTTLE_UPLOAD", "60/hour"),
    "pages": env_str("THROTTLE_PAGES", "600/minute"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "zkarena API",
    "DESCRIPTION": "Model-accuracy competitions with zero-knowledge accuracy proofs.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Every operation also documents the refusals the shared layers give (401, 403, 404,
    # 400, 413, 415, 429), with the one Error body.
    # Swagger UI from drf-spectacular-sidecar's files (served locally, no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "competitions.api.schema.add_standard_responses",
    ],
}

# Celery reads every CELERY_* setting here (see zkarena_site/celery.py).
# The embedded default needs no broker service: kombu's filesystem transport keeps one file
# per message under var/celery/. Producer and worker share one folder, so they must run on
# the same machine. Deployments use Redis (CELERY_BROKER_URL=redis://host:6379/0).
# ("localhost" only silences kombu's warning about a missing host; the transport ignores it.)
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = str(VAR_DIR / "celery" / "queue")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _queue_dir,
        "data_folder_out": _queue_dir,
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
# Verification outcomes are stored on the submissions themselves, so no result backend is
# needed by default; one can still be configured.
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The outcome lives on the submission row; nothing reads task results.
CELERY_TASK_IGNORE_RESULT = True

# ------------------------------------------------------------------ verification workers
# (verifier/, DESIGN §5.) A submission is verified exactly once whatever fails: the message
# is acknowledged only after the task returns (acks late) and put back if the worker process
# dies under it; each process reserves one message at a time, so a dead worker strands at
# most the one it was running; the periodic sweep re-queues anything stuck past its time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# The queue the verification tasks go to, and the recovery queue for work taken over from a
# dead worker or retried after a platform fault; workers consume both, recovery listed first
# (verifier/__init__.py), so recovered work waits for at most one backlog message per slot.
VERIFIER_QUEUE = env_str("VERIFIER_QUEUE", "verification")
VERIFIER_RECOVERY_QUEUE = env_str("VERIFIER_RECOVERY_QUEUE", f"{VERIFIER_QUEUE}.recovery")
# Submissions whose commitment's estimated verification time (cost_verify_seconds, from the
# architecture and N) exceeds VERIFIER_LARGE_SECONDS go to VERIFIER_LARGE_QUEUE, so small
# proofs never wait behind them; a worker consumes any of the queues (`-Q`). An empty
# VERIFIER_LARGE_QUEUE (or a threshold of 0) keeps one queue (verifier/routing.py).
VERIFIER_LARGE_QUEUE = env_str("VERIFIER_LARGE_QUEUE", f"{VERIFIER_QUEUE}-large")
VERIFIER_LARGE_SECONDS = float(env_str("VERIFIER_LARGE_SECONDS", "5"))
if VERIFIER_LARGE_SECONDS < 0:
    raise ImproperlyConfigured("VERIFIER_LARGE_SECONDS must be 0 (one queue) or more")
CELERY_TASK_DEFAULT_QUEUE = VERIFIER_QUEUE
# Whether the submission_queued signal enqueues a verification (off only in test runs that
# have no worker: see test_settings.py).
VERIFIER_ENQUEUE = env_bool("VERIFIER_ENQUEUE", default=True)
# Time limits per task, scaled by the competition's test-set size N:
# soft = min(BASE + PER_SAMPLE · N, MAX) seconds, hard = soft + GRACE.
VERIFIER_SOFT_LIMIT_BASE = env_int("VERIFIER_SOFT_LIMIT_BASE", 60)
VERIFIER_SOFT_LIMIT_PER_SAMPLE = float(env_str("VERIFIER_SOFT_LIMIT_PER_SAMPLE", "0.5"))
VERIFIER_SOFT_LIMIT_MAX = env_int("VERIFIER_SOFT_LIMIT_MAX", 1800)
VERIFIER_HARD_LIMIT_GRACE = env_int("VERIFIER_HARD_LIMIT_GRACE", 30)
# A verifying worker renews its claim's lease every LEASE/3 seconds; a claim whose lease ran
# out has lost its worker and the sweep takes it over (one platform fault).
VERIFIER_LEASE_SECONDS = float(env_str("VERIFIER_LEASE_SECONDS", "30"))
# Tries that end without a verdict because of the platform (lost worker, database, broker,
# storage, time limit) before the submission is parked in `error` for staff; retried with
# exponential backoff BASE·2^k seconds (at most MAX) in between. They never reject.
VERIFIER_INFRA_BUDGET = env_int("VERIFIER_INFRA_BUDGET", 8)
VERIFIER_INFRA_BACKOFF_BASE = float(env_str("VERIFIER_INFRA_BACKOFF_BASE", "2"))
VERIFIER_INFRA_BACKOFF_MAX = float(env_str("VERIFIER_INFRA_BACKOFF_MAX", "300"))
# A `queued` submission whose message is due longer ago than this may have lost it (broker
# restart, send failure, a reserved message of a killed worker on Redis); the sweep re-sends
# it only once that is proven: the queues are empty, or a message sent to the same queue
# after it has already been started.
VERIFIER_QUEUED_TIMEOUT = env_int("VERIFIER_QUEUED_TIMEOUT", 60)
# Every worker's main process runs the sweep this often (one at a time, under a PostgreSQL
# advisory lock) and beats its heartbeat row; no queue is involved, so a backlog cannot
# starve it. A worker whose heartbeat is older than 3 intervals is reported dead.
VERIFIER_SWEEP_INTERVAL = float(env_str("VERIFIER_SWEEP_INTERVAL", "5"))
VERIFIER_HEARTBEAT_INTERVAL = float(env_str("VERIFIER_HEARTBEAT_INTERVAL", "5"))
CELERY_TASK_ROUTES = {"verifier.tasks.*": {"queue": VERIFIER_QUEUE}}
# A worker started without -Q consumes every verifier queue, the recovery queue first.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in dict.fromkeys(q for q in (VERIFIER_RECOVERY_QUEUE, VERIFIER_QUEUE,
                                          VERIFIER_LARGE_QUEUE) if q)
)
CELERY_BEAT_SCHEDULE = {
    # Reveal and proof-deadline e-mails (competitions/tasks.py); each is sent once.
    "timeline-notifications": {
        "task": "competitions.tasks.send_timeline_notifications",
        "schedule": float(env_int("NOTIFY_INTERVAL", 300)),
        "options": {"queue": VERIFIER_QUEUE, "expires": float(env_int("NOTIFY_INTERVAL", 300))},
    },
    # The reveal of each competition enters the commitment log at its time (also on the
    # first request that needs the revealed test set).
    "log-reveals": {
        "task": "competitions.tasks.log_due_reveals",
        "schedule": float(env_int("LOG_REVEAL_INTERVAL", 60)),
        "options": {"queue": VERIFIER_QUEUE, "expires": float(env_int("LOG_REVEAL_INTERVAL", 60))},
    },
}
# Redis (and other virtual transports) hand an unacknowledged message to another worker
# after the visibility timeout; it must outlast the longest task or a running verification
# would be started a second time (harmless, but wasted work).
_LONGEST_TASK = VERIFIER_SOFT_LIMIT_MAX + VERIFIER_HARD_LIMIT_GRACE
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", max(3600, 2 * _LONGEST_TASK))
if CELERY_VISIBILITY_TIMEOUT <= _LONGEST_TASK:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT={CELERY_VISIBILITY_TIMEOUT} must exceed the longest "
        f"verification ({_LONGEST_TASK} s: VERIFIER_SOFT_LIMIT_MAX + VERIFIER_HARD_LIMIT_GRACE)"
    )
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}

# ------------------------------------------------------------------ metrics
# Who may read GET /metrics besides staff: client addresses (as the throttles see them,
# TRUSTED_PROXY_COUNT honoured) in these networks, e.g. the Prometheus server's.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}
