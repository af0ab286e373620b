"""Small charts drawn on the server as SVG: no script, nothing loaded from elsewhere (the pages'
Content-Security-Policy allows neither). Each chart is an image with a text alternative and a
visually hidden table of its numbers, for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_TOP, PAD_BOTTOM = 560, 150, 14, 22


def day_series(dates: Sequence[datetime], days: int, today: date | None = None) -> list[tuple[str, float]]:
    """Counts per day over the last ``days`` days (oldest first), labelled "Nov 7"."""
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    counts = {first + timedelta(days=i): 0 for i in range(days)}
    for when in dates:
        day = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).date()
        if day in counts:
            counts[day] += 1
    return [(f"{d:%b} {d.day}", float(n)) for d, n in counts.items()]


def bar_chart(points: Sequence[tuple[str, float]], *, title: str, unit: str = "", css_class: str = "") -> Markup:
    """Vertical bars, one per point, with the largest value marked on the axis."""
    values = [max(0.0, float(v)) for _, v in points]
    top = max(values, default=0.0) or 1.0
    n = max(1, len(points))
    slot = WIDTH / n
    bar = max(2.0, slot * 0.7)
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    total = sum(values)
    def amount(v: float) -> str:
        return f"{_fmt(v)} {unit}".strip()

    summary = f"{title}: {amount(total)} in all, at most {amount(max(values, default=0))} on one bar"
    parts = [f'<figure class="chart {escape(css_class)}"><figcaption>{escape(title)}</figcaption>',
             f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(summary)}" '
             f'preserveAspectRatio="none"><title>{escape(summary)}</title>',
             f'<line class="axis" x1="0" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - PAD_BOTTOM}"/>',
             f'<text class="max" x="2" y="{PAD_TOP - 3}">{escape(amount(top))}</text>']
    label_every = max(1, round(n / 7))
    for i, ((label, _), value) in enumerate(zip(points, values, strict=True)):
        h = plot_h * value / top
        x = i * slot + (slot - bar) / 2
        y = HEIGHT - PAD_BOTTOM - h
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(h, 0.0):.1f}">'
                     f'<title>{escape(label)}: {escape(amount(value))}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text class="label" x="{x + bar / 2:.1f}" y="{HEIGHT - 6}">{escape(label)}</text>')
    parts.append("</svg>")
    rows = "".join(f"<tr><th scope=\"row\">{escape(label)}</th><td>{escape(_fmt(v))}</td></tr>"
                   for (label, _), v in zip(points, values, strict=True))
    parts.append(f'<table class="sr-only"><caption>{escape(title)}</caption>{rows}</table></figure>')
    return Markup("".join(parts))


def meter(parts: Sequence[tuple[str, float]], *, title: str) -> Markup:
    """Horizontal bars from 0 to 1 (probabilities), one per labelled value."""
    rows = []
    for label, value in parts:
        share = max(0.0, min(1.0, float(value)))
        rows.append(f'<div class="meter-row"><span class="meter-label">{escape(label)}</span>'
                    f'<span class="meter-track" role="img" aria-label="{escape(label)}: {share:.0%}">'
                    f'<span class="meter-fill" style="width: {share * 100:.1f}%"></span></span>'
                    f'<span class="meter-value">{share:.0%}</span></div>')
    return Markup(f'<figure class="chart meter"><figcaption>{escape(title)}</figcaption>{"".join(rows)}</figure>')


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
