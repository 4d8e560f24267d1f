"""The chart of the best proven accuracy over time, drawn as inline SVG on the server.

No JavaScript and no chart library: the page carries the finished drawing, so it works
without network access to anything but the site itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 34


def _percent(value: Fraction) -> str:
    return f"{float(value * 100):.1f}%"  # display only; ranking never uses floats


def _when(t: datetime, seconds: bool = False) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def axis_labels(start: datetime, end: datetime) -> list[str]:
    """The x axis's end labels, never two identical ones: to the minute, to the second when
    both ends fall in one minute, one label when they fall in one second."""
    for seconds in (False, True):
        first, last = _when(start, seconds), _when(end, seconds)
        if first != last:
            return [first, last]
    return [_when(start, True)]


def accuracy_chart(
    series: list[tuple[datetime, int]],
    *,
    num_samples: int,
    threshold: Fraction,
    start: datetime,
    end: datetime,
) -> SafeString:
    """A step line of the best verified accuracy from ``start`` to ``end``.

    ``series`` holds (time, best count so far) points in time order (see
    selectors.best_accuracy_series).
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        "<title>Best proven accuracy over time</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    if not series:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
            'text-anchor="middle" class="empty">No verified proof yet</text></svg>'
        )
        return mark_safe("".join(parts))  # noqa: S308 (numbers and fixed text only)

    accuracies = [Fraction(c, num_samples) for _, c in series]
    # The y axis spans from a round tenth below the lowest value shown up to 100 %.
    lowest = min(accuracies[0], threshold)
    y_min = Fraction(int(lowest * 10), 10)
    if y_min >= 1:
        y_min = Fraction(9, 10)
    start = min(start, series[0][0])
    end = max(end, series[-1][0])
    span = (end - start).total_seconds() or 1.0

    def x(t: datetime) -> float:
        return LEFT + plot_w * (t - start).total_seconds() / span

    def y(a: Fraction) -> float:
        return TOP + plot_h * float((1 - a) / (1 - y_min))

    for i in range(5):  # horizontal grid with labels
        level = y_min + (1 - y_min) * Fraction(i, 4)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            f'class="grid"/><text x="{LEFT - 6}" y="{y(level) + 4:.1f}" text-anchor="end">'
            f"{_percent(level)}</text>"
        )
    if threshold > y_min:
        label = f"threshold {threshold} ({_percent(threshold)})"
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(threshold):.1f}" '
            f'y2="{y(threshold):.1f}" class="threshold"><title>{escape(label)}</title></line>'
            f'<text x="{LEFT + plot_w - 4}" y="{y(threshold) - 4:.1f}" text-anchor="end" '
            f'class="threshold-label">{escape(label)}</text>'
        )
    path = [f"M{x(series[0][0]):.1f},{y(accuracies[0]):.1f}"]
    for (t, _), a in zip(series[1:], accuracies[1:], strict=True):
        path.append(f"H{x(t):.1f}V{y(a):.1f}")
    path.append(f"H{x(end):.1f}")
    parts.append(f'<path d="{"".join(path)}" class="best"/>')
    for (t, count), a in zip(series, accuracies, strict=True):
        parts.append(
            f'<circle cx="{x(t):.1f}" cy="{y(a):.1f}" r="3.5" class="point"><title>'
            f"{count}/{num_samples} ({_percent(a)}) proven {escape(_when(t))}</title></circle>"
        )
    labels = axis_labels(start, end)
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 10}" class="axis">{escape(labels[0])}</text>')
    if len(labels) == 2:
        parts.append(
            f'<text x="{LEFT + plot_w}" y="{HEIGHT - 10}" text-anchor="end" class="axis">'
            f"{escape(labels[1])}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text piece is escaped above)
