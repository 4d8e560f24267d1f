"""The web side of GET /metrics: requests served, by method, URL route and status class,
and their latency, recorded by ``RequestMetricsMiddleware``.

Unlike the platform's series (monitoring/metrics.py, counted from PostgreSQL), these live
in the web processes. One process (runserver, the embedded default, tests) keeps them in
its own registry. Under gunicorn with several worker processes, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory the web processes share (one host):
prometheus_client then keeps each process's values in files there and a scrape of any
process adds them up; ``zkarena_site.gunicorn_conf`` empties the directory when gunicorn
starts and drops a dead worker's live values. Each web host is scraped on its own.

The route label is the URL pattern Django matched (``api/competitions/<slug:slug>/``),
never the path, so its cardinality is the number of routes, whatever the requests.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# No `_created` series: Prometheus does not need them, and they would double the samples.
disable_created_metrics()

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "zkarena_http_requests",
    "HTTP requests the site's web processes answered, by method, URL route and status class.",
    ["method", "route", "status"],
    registry=_REGISTRY,
)
LATENCY = Histogram(
    "zkarena_http_request_seconds",
    "Time the site's web processes spent on each request, by URL route.",
    ["route"],
    buckets=SECONDS_BUCKETS,
    registry=_REGISTRY,
)
# Methods outside this set are counted as "other" (a label value per method a client
# invents would be unbounded).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def register(registry: CollectorRegistry) -> None:
    """Add the web series to a scrape's registry: this process's, or (multiprocess mode)
    every gunicorn worker's of this host, added up."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"  # 404s from the resolver, and refusals before it ran
    return "/" + match.route if match.route else match.view_name or "unmatched"


class RequestMetricsMiddleware:
    """Count and time every request (outermost, so refusals by other middleware count)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(method, route, f"{response.status_code // 100}xx").inc()
        LATENCY.labels(route).observe(time.perf_counter() - start)
        return response
