from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.population import MIXED, MIXED_FIGURES, daily_snapshot

FIGURE = re.compile(r'data-figure="([a-z0-9_]+)" data-value="(\d+)"')
SHARE = re.compile(r'data-share="([a-z0-9_]+)" data-value="([0-9.]*)"')


def page_figures(html: str) -> tuple[dict[str, int], dict[str, float | None]]:
    counts = {key: int(value) for key, value in FIGURE.findall(html)}
    shares = {key: float(value) if value else None for key, value in SHARE.findall(html)}
    return counts, shares


async def test_page_shows_the_same_figures_as_the_json(
    client: httpx.AsyncClient, services: Services, clock: MovableClock, mixed: dict[str, int]
) -> None:
    clock.set(datetime(2024, 6, 1, 1, 0, tzinfo=UTC))
    await daily_snapshot(services)
    clock.advance(timedelta(days=1))
    await daily_snapshot(services)
    page = await client.get("/stats/2fa")
    doc = (await client.get("/stats/2fa.json")).json()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    counts, shares = page_figures(page.text)
    assert counts == asdict(MIXED_FIGURES)
    assert {k: doc["figures"][k] for k in counts} == counts
    assert shares == {k: doc["figures"][k] for k in shares}
    assert set(shares) == {"share_with_2fa", "critical_maintainers_share_with_2fa"}
    assert [h["day"] for h in doc["history"]] == ["2024-06-01", "2024-06-02"]
    assert doc["history"][0]["users"] == 7
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="chart-2fa"' in page.text
    assert "<script" not in page.text
    assert "Critical projects whose every owner and maintainer has 2FA" in page.text
    assert "public, max-age=" in page.headers["cache-control"]


async def test_empty_index_page_and_json(client: httpx.AsyncClient) -> None:
    page = await client.get("/stats/2fa")
    doc = (await client.get("/stats/2fa.json")).json()
    assert page.status_code == 200
    assert "No daily snapshots yet." in page.text
    assert doc["figures"]["users"] == 0 and doc["figures"]["share_with_2fa"] is None
    assert doc["history"] == []
    _, shares = page_figures(page.text)
    assert shares == {"share_with_2fa": None, "critical_maintainers_share_with_2fa": None}


async def test_history_is_limited_to_the_configured_days(
    client: httpx.AsyncClient, services: Services, clock: MovableClock
) -> None:
    services.settings = services.settings.model_copy(update={"metrics_history_days": 2})
    clock.set(datetime(2024, 6, 1, 1, 0, tzinfo=UTC))
    for _ in range(4):
        await daily_snapshot(services)
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(days=-1))
    doc = (await client.get("/stats/2fa.json")).json()
    assert [h["day"] for h in doc["history"]] == ["2024-06-03", "2024-06-04"]


def families(text: str) -> dict[str, list[tuple[dict[str, str], float, str]]]:
    out: dict[str, list[tuple[dict[str, str], float, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(family.name, []).append((sample.labels, sample.value, sample.name))
    return out


async def test_prometheus_gauges_and_request_metrics(
    client: httpx.AsyncClient, mixed: dict[str, int]
) -> None:
    assert (await client.get("/stats/2fa")).status_code == 200
    assert (await client.get("/project/no-such-project/")).status_code == 404
    await client.get("/simple/")
    await client.get("/simple/")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    metrics = families(response.text)
    value = {name: samples[0][1] for name, samples in metrics.items() if len(samples) == 1}
    assert value["bastion_users"] == 7
    assert value["bastion_users_with_2fa"] == 5
    assert value["bastion_users_two_or_more_security_keys"] == 2
    assert value["bastion_users_with_recovery_codes"] == 2
    assert value["bastion_critical_projects"] == 4  # as many as `bastion critical list` prints
    assert value["bastion_critical_maintainers"] == 4
    assert value["bastion_critical_maintainers_with_2fa"] == 3
    assert value["bastion_critical_projects_all_maintainers_2fa"] == 1
    by_method = {s[0]["method"]: s[1] for s in metrics["bastion_users_with_2fa_by_method"]}
    assert by_method == {"totp_only": 2, "security_key_only": 2, "both": 1}
    requests = {
        (s[0]["method"], s[0]["route"], s[0]["status"]): s[1]
        for s in metrics["bastion_http_requests"]
        if s[2] == "bastion_http_requests_total"
    }
    assert requests[("GET", "/stats/2fa", "200")] == 1
    assert requests[("GET", "/project/{name}/", "404")] == 1
    assert not any(route.startswith("/simple") for _, route, _ in requests)  # fast path
    latency = metrics["bastion_http_request_duration_seconds"]
    assert any(s[2].endswith("_count") and s[0]["route"] == "/stats/2fa" for s in latency)
    assert metrics["bastion_fast_path_requests"][0][1] == 2


async def test_unknown_paths_share_one_label(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.get(f"/no/such/page/{i}")
    text = (await client.get("/metrics")).text
    assert 'route="<unmatched>",status="404"} 3.0' in text
    assert "/no/such/page" not in text


async def test_no_personal_data_anywhere(
    client: httpx.AsyncClient, services: Services, mixed: dict[str, int]
) -> None:
    await daily_snapshot(services)
    bodies = [
        (await client.get(path)).text for path in ("/stats/2fa", "/stats/2fa.json", "/metrics")
    ]
    for body in bodies:
        assert "@example.org" not in body
        for person in MIXED.people:
            assert not re.search(rf"\b{person.name}\b", body), person.name
