"""Request throttles whose rates come from settings.THROTTLE_RATES on every request.

(DRF's own classes copy their rates once, at import time; reading them per request lets
deployments and tests change them.)

Clients are told apart by their address: REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT
reverse proxies (settings: DRF's NUM_PROXIES), the address that many entries from the end
of X-Forwarded-For, the one the outermost trusted proxy saw. A client's own
X-Forwarded-For header is never trusted: with DRF's default (no proxy count) rotating it
gave every request a fresh budget.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)


def client_address(request) -> str:
    """The client's address as every throttle sees it (pages included)."""
    return BaseThrottle().get_ident(request) or "unknown"


class _RatesFromSettings:
    scope: str

    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RatesFromSettings, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    scope = "user"


class _PerAddress(_RatesFromSettings, SimpleRateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class AuthThrottle(_PerAddress):
    """Password attempts, per client address: the login page and the API token endpoint
    share this budget (competitions.login_guard)."""

    scope = "auth"


class SignupThrottle(_PerAddress):
    """Account creations, per client address."""

    scope = "signup"


class UploadThrottle(_RatesFromSettings, UserRateThrottle):
    """Writes (uploads and creations), per account; reads are not counted here."""

    scope = "upload"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)


class PageThrottle(_PerAddress):
    """Server-rendered pages, per client address (competitions.middleware)."""

    scope = "pages"
