"""The series of GET /metrics, computed at scrape time from PostgreSQL and the broker.

Nothing is kept in a process: a scrape of any web process sees the whole platform, and
counters survive restarts (they are counts of rows). The web processes' own request
series come from monitoring/web.py. The list of series, with their
meaning, is in docs/operations.md ("Metrics"); tests/test_metrics.py checks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import CollectorRegistry

from competitions.models import Submission, SubmissionStatus

from .models import VerificationRun

SECONDS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
MIB = 1024 * 1024
MEMORY_BUCKETS = tuple(m * MIB for m in (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384))


def verification_queues() -> list[str]:
    """The broker queues verification tasks go to: recovery, small, large (once each)."""
    from verifier.selectors import verifier_queues

    return verifier_queues()


def _histogram(
    name: str, documentation: str, field: str, buckets: Sequence[float], unit_filter: Q
) -> HistogramMetricFamily:
    """A cumulative histogram of one VerificationRun column, counted by one query."""
    aggregates = {f"le_{i}": Count("id", filter=Q(**{f"{field}__lte": b}))
                  for i, b in enumerate(buckets)}  # fmt: skip
    row = VerificationRun.objects.filter(unit_filter).aggregate(
        total=Count("id"), sum=Sum(field), **aggregates
    )
    family = HistogramMetricFamily(name, documentation)
    points = [(_le(b), row[f"le_{i}"]) for i, b in enumerate(buckets)]
    points.append(("+Inf", row["total"]))
    family.add_metric([], points, row["sum"] or 0.0)
    return family


def _le(bound: float) -> str:
    return str(float(bound)) if bound != int(bound) else f"{int(bound)}.0"


class PlatformCollector:
    """prometheus_client collector over the shared state (a new snapshot per scrape)."""

    def __init__(self, now: datetime | None = None, queue_length=None):
        self.now = now
        if queue_length is None:
            from verifier.selectors import broker_queue_length as queue_length
        self.queue_length = queue_length

    def collect(self) -> Iterator:
        now = self.now or timezone.now()

        queue = GaugeMetricFamily(
            "zkarena_verification_queue_messages",
            "Verification messages waiting in the broker, per queue (not counting the ones "
            "workers hold); absent when the broker cannot say.",
            labels=["queue"],
        )
        for name in verification_queues():
            length = self.queue_length(name)
            if length is not None:
                queue.add_metric([name], length)
        yield queue

        by_status = dict(
            Submission.objects.values_list("status").annotate(n=Count("id")).values_list(
                "status", "n"
            )
        )
        submissions = GaugeMetricFamily(
            "zkarena_submissions", "Submissions by status.", labels=["status"]
        )
        for status in SubmissionStatus.values:
            submissions.add_metric([status], by_status.get(status, 0))
        for status, n in by_status.items():
            if status not in SubmissionStatus.values:
                submissions.add_metric([status], n)
        yield submissions

        oldest = Submission.objects.filter(status=SubmissionStatus.QUEUED).aggregate(
            oldest=Min("created_at")
        )["oldest"]
        yield GaugeMetricFamily(
            "zkarena_oldest_queued_submission_age_seconds",
            "Age of the oldest submission still waiting for verification (0 when none waits).",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )

        outcomes = CounterMetricFamily(
            "zkarena_verifications",
            "Verification tasks run by the workers, by what they returned: verified, rejected, "
            "skipped (nothing to do), released (time limit, queued again), failed (raised).",
            labels=["outcome"],
        )
        for outcome, n in (
            VerificationRun.objects.values_list("outcome").annotate(n=Count("id")).order_by()
        ).values_list("outcome", "n"):
            outcomes.add_metric([outcome], n)
        yield outcomes

        # Only runs that verified a proof: skipped messages and failures say nothing about
        # what a verification costs.
        checked = Q(outcome__in=["verified", "rejected"])
        yield _histogram(
            "zkarena_verification_seconds",
            "Wall-clock seconds of verification tasks that reached a verdict.",
            "seconds",
            SECONDS_BUCKETS,
            checked,
        )
        yield _histogram(
            "zkarena_verification_peak_memory_bytes",
            "Peak resident memory of the worker process during verification tasks that "
            "reached a verdict.",
            "peak_memory_bytes",
            MEMORY_BUCKETS,
            checked & Q(peak_memory_bytes__isnull=False),
        )


def exposition(
    accept: str = "", now: datetime | None = None, queue_length=None
) -> tuple[bytes, str]:
    """Every series, in the format the scraper asks for (its Accept header: Prometheus'
    text format, or OpenMetrics), and that format's content type."""
    from prometheus_client.exposition import choose_encoder

    from . import web

    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(now, queue_length))
    web.register(registry)
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def series_names(text: str) -> Iterable[str]:
    """The metric names in an exposition (its # TYPE lines)."""
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            yield line.split()[2]
