from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from bastion.metrics.chart import render_chart
from bastion.metrics.figures import TwoFactorFigures
from bastion.metrics.snapshots import Snapshot

SVG = "{http://www.w3.org/2000/svg}"


def snap(day: int, users: int, with_2fa: int, maint: int = 0, maint_2fa: int = 0) -> Snapshot:
    return Snapshot(
        day=date(2024, 6, 1) + timedelta(days=day),
        figures=TwoFactorFigures(
            users=users,
            users_with_2fa=with_2fa,
            critical_maintainers=maint,
            critical_maintainers_with_2fa=maint_2fa,
        ),
    )


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def test_chart_is_well_formed_accessible_svg() -> None:
    root = parse(render_chart([snap(0, 10, 1, 4, 1), snap(1, 10, 5, 4, 2), snap(2, 10, 6, 4, 4)]))
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "10.0% on 2024-06-01, 60.0% on 2024-06-03" in (desc.text or "")
    assert "25.0% on 2024-06-01, 100.0% on 2024-06-03" in (desc.text or "")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Day (UTC)" in texts and "Share with 2FA (%)" in texts
    assert len(list(root.iter(f"{SVG}polyline"))) == 2
    assert root.find(f".//{SVG}script") is None
    assert "style=" not in render_chart([snap(0, 1, 1)])  # CSP: no inline styles


def test_empty_history_says_so() -> None:
    root = parse(render_chart([]))
    assert "No daily snapshots" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    assert not list(root.iter(f"{SVG}polyline"))


def test_a_single_day_is_a_dot_and_undefined_shares_break_the_line() -> None:
    one = parse(render_chart([snap(0, 10, 5, 2, 1)]))
    assert len(list(one.iter(f"{SVG}circle"))) == 2
    # maintainers undefined on day 1: their line is two dots, users' line stays whole
    gap = parse(render_chart([snap(0, 10, 5, 2, 1), snap(1, 10, 5), snap(2, 10, 5, 2, 2)]))
    assert len(list(gap.iter(f"{SVG}polyline"))) == 1


def test_long_history_has_bounded_ticks() -> None:
    root = parse(render_chart([snap(i, 100, i % 100) for i in range(400)]))
    dates = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("20")]
    assert 2 <= len(dates) <= 6
    assert dates[0] == "2024-06-01" and dates[-1] == (date(2024, 6, 1) + timedelta(399)).isoformat()
    assert not list(root.iter(f"{SVG}circle"))
