"""Password guessing, bounded the same way on the login page and the API token endpoint.

Every password attempt counts against the client's address (THROTTLE_AUTH, shared by both
entry points); every failed one also against the account it named (THROTTLE_LOGIN_FAILURES,
the account named up to case and look-alike characters: ``User.username_key``). Past
either rate the attempt is refused before the password is even checked, so the right
password does not get in either until the window has moved on: a lockout of the account
for as long as its failures stay within the window. Failures are recorded from Django's
``user_login_failed`` signal, which ``authenticate()`` sends for both entry points.

The counters live in the cache (CACHE_URL: Redis as soon as several processes serve).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from .api.throttles import AuthThrottle
from .models import username_key
from .services.errors import ErrorCode, TooManyRequests

_FAILURES = "login-failures:%s"


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _failure_rate() -> tuple[int, int] | None:
    """(failures, seconds) from THROTTLE_RATES["login_failures"], DRF's "N/period" syntax."""
    rate = settings.THROTTLE_RATES.get("login_failures")
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def _recent_failures(username: str, now: float) -> tuple[str, list[float], int]:
    rate = _failure_rate()
    # Hashed: any text may arrive as a username (cache keys must stay short and plain).
    key = _FAILURES % hashlib.sha256(username_key(username[:1000]).encode()).hexdigest()
    if rate is None:
        return key, [], 0
    _, duration = rate
    history = [t for t in cache.get(key, []) if t > now - duration]
    return key, history, duration


def check(request, username: str) -> None:
    """Refuse (429) before the password is checked when the client address is over its
    attempt rate or the account over its failure rate; otherwise count the attempt."""
    address = AuthThrottle()
    if not address.allow_request(request, None):
        raise TooManyRequests(
            "too many login attempts from your address; try again later",
            code=ErrorCode.THROTTLED,
            retry_after=address.wait(),
        )
    rate = _failure_rate()
    if rate is None or not username:
        return
    now = time.time()
    _, history, duration = _recent_failures(username, now)
    if len(history) >= rate[0]:
        raise TooManyRequests(
            "too many failed logins for this account; it is locked for a while, try again "
            "later",
            code=ErrorCode.LOCKED_OUT,
            retry_after=max(1.0, history[0] + duration - now),
        )


def record_failure(username: str) -> None:
    if _failure_rate() is None or not username:
        return
    now = time.time()
    key, history, duration = _recent_failures(username, now)
    cache.set(key, [*history, now], duration)


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    record_failure(str(credentials.get("username") or ""))
