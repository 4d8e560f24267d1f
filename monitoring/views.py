"""GET /metrics: the Prometheus exposition, for staff or an internal address only."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from competitions.api.throttles import client_address

from . import metrics


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in spec)
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from None


def address_allowed(address: str) -> bool:
    """Whether the client address is in one of METRICS_ALLOWED_NETWORKS."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def _staff(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.is_active and user.is_staff)
    try:  # a scraper may present a staff account's API token
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return False
    return bool(found and found[0].is_active and found[0].is_staff)


@require_GET
def metrics_view(request):
    # The client address as the throttles see it (TRUSTED_PROXY_COUNT proxies honoured).
    if not (_staff(request) or address_allowed(client_address(request))):
        return HttpResponse(
            "metrics are for staff and the addresses in METRICS_ALLOWED_NETWORKS\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
