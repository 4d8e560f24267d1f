"""Settings for the test suite: the real settings, plus what a test run may lack.

Tests read DATABASE_URL and CELERY_BROKER_URL like any deployment (`make test` points them at
PostgreSQL and Redis; without them the embedded defaults apply).
"""

import os

# A test run has no deployment secret; this key signs nothing that outlives the run.
os.environ.setdefault("SECRET_KEY", "zkarena-test-suite-only-" + "x" * 32)

from .settings import *  # noqa: E402, F403

# Password hashing is deliberately slow; tests create users, they don't guard them.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Receipts need a signing key; a fresh one per test process signs nothing that outlives it.
if not RECEIPT_SIGNING_KEY:  # noqa: F405
    from zkproofs.receipts import ReceiptSigningKey

    RECEIPT_SIGNING_KEY = ReceiptSigningKey.generate().to_bytes().hex()

# Tests send many requests from one address; the throttle tests lower these themselves.
THROTTLE_RATES = dict.fromkeys(
    ("anon", "user", "auth", "login_failures", "signup", "upload", "pages"), "100000/minute"
)

# The platform tests announce submissions without any worker running: enqueueing would only
# leave messages nobody consumes in the broker. Tests that run a real worker switch the
# hand-off back on for their own queue (tests/verifier/worker.py, running_worker).
VERIFIER_ENQUEUE = False

# Test-only slow path: a worker started with ZKARENA_TEST_VERIFY_DELAY=<seconds> sleeps that
# long right after taking a submission into `verifying`, so a test can kill it mid-verification
# (tests/verifier/test_worker.py). The production settings never define this name.
VERIFIER_TEST_DELAY_SECONDS = float(os.environ.get("ZKARENA_TEST_VERIFY_DELAY") or 0)
# Test-only fault injection (verifier/services.py, _test_faults): a worker started with
# ZKARENA_TEST_FAULTS="drop_db,kill,…" terminates its own database connection, or SIGKILLs
# its pool process, right after the claim of a submission that has had 0, 1, … platform
# faults. The production settings never define this name.
VERIFIER_TEST_FAULTS = os.environ.get("ZKARENA_TEST_FAULTS", "")

# Mails stay in django.core.mail.outbox.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Tests write rows around save() (bulk_create, update) between requests: every request
# ranks afresh. tests/competitions/test_leaderboard.py turns the cache on to test it.
LEADERBOARD_CACHE_SECONDS = 0
