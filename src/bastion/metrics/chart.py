"""A server-rendered SVG line chart of the 2FA history: no JavaScript, no external files.

Accessible by construction: ``role="img"`` labelled by a ``<title>`` and a ``<desc>`` that
states the first and last values in words, axis labels, a legend that does not rely on
colour alone (one line is dashed). Only presentation attributes are used (no ``style``),
so the page's Content-Security-Policy needs no ``'unsafe-inline'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from bastion.metrics.snapshots import Snapshot

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 20, 84
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_TICKS = 6
MAX_DOTS = 62  # draw a dot per point up to about two months of days


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    dash: str  # stroke-dasharray, "" for a solid line
    values: list[float | None]  # 0..1 per day, None when undefined that day


def series_of(history: Sequence[Snapshot]) -> list[Series]:
    """The two lines: share of users with 2FA, share of critical maintainers with 2FA."""
    return [
        Series("All users with 2FA", "#0072b2", "", [s.figures.share_with_2fa for s in history]),
        Series(
            "Critical-project maintainers with 2FA",
            "#d55e00",
            "8 5",
            [s.figures.critical_maintainers_share_with_2fa for s in history],
        ),
    ]


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1%}"


def _x(index: int, count: int) -> float:
    if count <= 1:
        return LEFT + PLOT_W / 2
    return LEFT + PLOT_W * index / (count - 1)


def _y(value: float) -> float:
    return TOP + PLOT_H * (1 - min(max(value, 0.0), 1.0))


def _tick_indexes(count: int) -> list[int]:
    if count <= MAX_X_TICKS:
        return list(range(count))
    step = (count - 1) / (MAX_X_TICKS - 1)
    return sorted({round(i * step) for i in range(MAX_X_TICKS)})


def _description(days: Sequence[date], series: Sequence[Series]) -> str:
    if not days:
        return "No daily snapshots have been taken yet."
    parts = [
        f"{s.label}: {_pct(s.values[0])} on {days[0].isoformat()}"
        + (f", {_pct(s.values[-1])} on {days[-1].isoformat()}" if len(days) > 1 else "")
        for s in series
    ]
    return f"Daily snapshots from {days[0]} to {days[-1]}. " + "; ".join(parts) + "."


def _axes(days: Sequence[date]) -> list[str]:
    out = ['<g class="chart-axes" font-size="12" fill="currentColor">']
    for pct in (0, 25, 50, 75, 100):
        y = _y(pct / 100)
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="0.2" stroke-width="1"/>'
        )
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>')
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{TOP + PLOT_H}" '
        f'y2="{TOP + PLOT_H}" stroke="currentColor" stroke-width="1"/>'
    )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PLOT_H}" '
        f'stroke="currentColor" stroke-width="1"/>'
    )
    ticks = _tick_indexes(len(days))
    for i in ticks:
        x = _x(i, len(days))
        # The last label ends at its tick so it stays inside the picture.
        anchor = "end" if i == ticks[-1] and len(ticks) > 1 else "middle"
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + PLOT_H}" '
            f'y2="{TOP + PLOT_H + 5}" stroke="currentColor" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{TOP + PLOT_H + 20}" text-anchor="{anchor}">'
            f"{escape(days[i].isoformat())}</text>"
        )
    out.append(
        f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{TOP + PLOT_H + 40}" '
        'text-anchor="middle" font-size="13">Day (UTC)</text>'
    )
    out.append(
        f'<text transform="translate(16 {TOP + PLOT_H / 2:.1f}) rotate(-90)" '
        'text-anchor="middle" font-size="13">Share with 2FA (%)</text>'
    )
    out.append("</g>")
    return out


def _line(series: Series) -> list[str]:
    count = len(series.values)
    segments: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(series.values):
        if value is None:
            segments.append([])
        else:
            segments[-1].append((_x(i, count), _y(value)))
    dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
    out = [f'<g class="chart-series" data-series="{escape(series.label)}">']
    for points in segments:
        if len(points) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{series.colour}" '
                f'stroke-width="2.5" stroke-linejoin="round"{dash}/>'
            )
        if len(points) == 1 or count <= MAX_DOTS:
            out.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{series.colour}"/>'
                for x, y in points
            )
    out.append("</g>")
    return out


def _legend(series: Sequence[Series]) -> list[str]:
    y = HEIGHT - 18
    out = ['<g class="chart-legend" font-size="13" fill="currentColor">']
    x = LEFT
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(
            f'<line x1="{x}" x2="{x + 28}" y1="{y - 4}" y2="{y - 4}" '
            f'stroke="{s.colour}" stroke-width="2.5"{dash}/>'
        )
        out.append(f'<text x="{x + 34}" y="{y}">{escape(s.label)}</text>')
        x += 34 + 8 * len(s.label) + 24
    out.append("</g>")
    return out


def render_chart(history: Sequence[Snapshot], *, chart_id: str = "chart-2fa") -> Markup:
    """The SVG markup of the history chart (safe to embed in a page as is)."""
    days = [s.day for s in history]
    series = series_of(history)
    title = "Share of accounts with two-factor authentication, by day"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_description(days, series))}</desc>',
        *_axes(days),
    ]
    if days:
        for s in series:
            parts.extend(_line(s))
    else:
        parts.append(
            f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{TOP + PLOT_H / 2:.1f}" '
            'text-anchor="middle" font-size="14" fill="currentColor">'
            "No daily snapshots yet.</text>"
        )
    parts.extend(_legend(series))
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every interpolated text is escaped above
