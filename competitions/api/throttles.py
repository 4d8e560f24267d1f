"""Request throttles whose rates come from settings.THROTTLE_RATES on every request.

(DRF's own classes copy their rates once, at import time; reading them per request lets
deployments and tests change them.)
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _RatesFromSettings:
    scope: str

    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RatesFromSettings, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    scope = "user"


class AuthThrottle(_RatesFromSettings, SimpleRateThrottle):
    """Password attempts on the token endpoint, per client address."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UploadThrottle(_RatesFromSettings, UserRateThrottle):
    """Writes (uploads and creations), per account; reads are not counted here."""

    scope = "upload"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
