"""Template filters of the pages: sanitized Markdown, countdowns, sizes, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone

from zkproofs.cli.output import duration_text

from .. import markdown as markdown_module

register = template.Library()


@register.filter
def markdown(text: str):
    return markdown_module.render(text)


@register.filter
def countdown(when: datetime | None) -> str:
    """'in 3 days 4 h' or '2 h 5 min ago', relative to now (server time, UTC)."""
    if when is None:
        return ""
    delta = (when - timezone.now()).total_seconds()
    if delta >= 0:
        return f"in {duration_text(delta)}"
    return f"{duration_text(-delta)} ago"


@register.filter
def utc(when: datetime | None, seconds: str = "") -> str:
    """'2031-03-01 12:00 UTC' (with ':ss' when asked: ``|utc:"s"``)."""
    if when is None:
        return "-"
    fmt = "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    return when.astimezone(UTC).strftime(fmt)


@register.filter
def filesize(size: int | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@register.filter
def thousands(value: int | None) -> str:
    """16000000 → '16,000,000'."""
    return "-" if value is None else f"{value:,}"


@register.filter
def estimate(value: float | None) -> str:
    """An estimated figure: '0.42', '3.1', '1,234' (fewer decimals as it grows)."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


@register.filter
def pyrepr(value) -> str:
    """A Python literal of ``value`` (for the generated starter script)."""
    return repr(value)
