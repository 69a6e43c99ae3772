"""Name protection on the proxy: look-alikes of local names are never looked up upstream."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.protect.names import record_name
from bastion.protect.names.admin import grant_namespace
from bastion.services import Services
from bastion.simple.upstream_state import forget_rules
from tests.e2e.clients import run_pip, run_uv
from tests.support.dists import Dist
from tests.support.factories import make_add_release
from tests.support.types import CliRun, StartProxy

from .servers import StaticIndex, add_publisher

JSON = {"accept": "application/vnd.pypi.simple.v1+json"}


async def local_project(services: Services, clock: MovableClock, name: str) -> None:
    """A project published here (its look-alike key recorded as an upload does)."""
    await make_add_release(services, clock)(name, "1.0", files=[f"{name}-1.0.tar.gz"])
    async with services.db.transaction() as session:
        await record_name(session, name)


async def refusals(services: Services) -> list[AuditEvent]:
    async with services.db.session() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.tag == "protect:upstream-refused")
        )
        return list(rows)


async def test_lookalikes_of_local_names_are_refused_before_any_upstream_request(
    http: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
    static_upstream: StaticIndex,
    tmp_path: Path,
) -> None:
    await local_project(services, clock, "acme-utils")
    for name in ("acme-utiis", "acme-uti1s", "acme-utils2", "acmeutils-dev"):
        static_upstream.publish(name, Dist.wheel(tmp_path / name, name, "99.0").path)
        page = await http.get(f"/simple/{name}/", headers=JSON)
        assert page.status_code == 200  # a page, so uv does not fall through to another index
        assert page.json()["files"] == []
        message = page.json()["meta"]["_message"]
        assert "'acme-utils'" in message and "dependency confusion" in message
        html = await http.get(f"/simple/{name}/")
        assert html.status_code == 200 and "acme-utils" in html.text
        blob = await http.get(f"/files/upstream/{name}/{'a' * 64}/{name}-99.0.tar.gz")
        assert blob.status_code == 404 and "acme-utils" in blob.text
    assert static_upstream.requests.paths == []  # not one request reached the upstream
    # "acme-utiIs" is the canonical "acme-utiis": the redirect lands on the refused page.
    assert (await http.get("/simple/acme-utiIs/")).headers["location"] == "/simple/acme-utiis/"

    events = await refusals(services)  # once per name (the retries are not re-audited)
    assert sorted(e.project_name or "" for e in events) == [
        "acme-uti1s",
        "acme-utiis",
        "acme-utils2",
        "acmeutils-dev",
    ]
    assert {e.details["similar_to"] for e in events} == {"acme-utils"}
    assert {e.details["rule"] for e in events} == {"lookalike-local"}

    async with services.db.session() as session:  # nothing recorded as an upstream name
        from bastion.upstream.models import UpstreamProject

        assert list(await session.scalars(select(UpstreamProject))) == []


async def test_other_names_are_still_looked_up(
    http: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
    static_upstream: StaticIndex,
    tmp_path: Path,
) -> None:
    await local_project(services, clock, "acme-utils")
    static_upstream.publish("leftpad", Dist.wheel(tmp_path, "leftpad", "1.0").path)
    page = await http.get("/simple/leftpad/", headers=JSON)
    assert [f["filename"] for f in page.json()["files"]] == ["leftpad-1.0-py3-none-any.whl"]
    assert (await http.get("/simple/acme/")).status_code == 404  # the local name's stem
    assert static_upstream.requests.paths == ["/simple/leftpad/", "/simple/acme/"]
    assert await refusals(services) == []


async def test_an_exact_rule_lets_an_admin_allow_a_lookalike(
    http: httpx.AsyncClient,
    services: Services,
    proxy_services: Services,
    clock: MovableClock,
    static_upstream: StaticIndex,
    cli: CliRun,
    tmp_path: Path,
) -> None:
    await local_project(services, clock, "acme-utils")
    static_upstream.publish("acme-utils2", Dist.wheel(tmp_path, "acme-utils2", "1.0").path)
    assert (await cli("origin", "set", "acme-*", "--upstream", "allow")).exit_code == 0
    forget_rules(proxy_services)
    assert (await http.get("/simple/acme-utils2/", headers=JSON)).json()["files"] == []
    assert (await cli("origin", "set", "acme-utils2", "--upstream", "allow")).exit_code == 0
    forget_rules(proxy_services)
    page = await http.get("/simple/acme-utils2/", headers=JSON)
    assert [f["filename"] for f in page.json()["files"]] == ["acme_utils2-1.0-py3-none-any.whl"]
    assert static_upstream.requests.paths == ["/simple/acme-utils2/"]


async def test_restricted_namespaces_are_not_looked_up_open_ones_are(
    http: httpx.AsyncClient,
    services: Services,
    static_upstream: StaticIndex,
) -> None:
    await add_publisher(services, "carol")
    now = services.clock.now()
    async with services.db.transaction() as session:
        await grant_namespace(session, "corp", "carol", open=False, by="test", now=now)
        await grant_namespace(session, "shared", "carol", open=True, by="test", now=now)
    page = await http.get("/simple/corp-tool/", headers=JSON)
    assert page.status_code == 200 and page.json()["files"] == []
    assert "namespace 'corp'" in page.json()["meta"]["_message"]
    assert (await http.get("/simple/shared-tool/")).status_code == 404
    assert static_upstream.requests.paths == ["/simple/shared-tool/"]
    assert [e.details["rule"] for e in await refusals(services)] == ["namespace"]


async def test_uv_and_pip_do_not_install_an_upstream_lookalike(
    start_proxy: StartProxy,
    services: Services,
    clock: MovableClock,
    static_upstream: StaticIndex,
    tmp_path: Path,
    home: Path,
) -> None:
    await local_project(services, clock, "acme-utils")
    static_upstream.publish("acme-utiis", Dist.wheel(tmp_path, "acme-utiis", "99.0").path)
    with start_proxy([static_upstream.index_url]) as server:
        # uv asks --extra-index-url first, the default index only after it: Bastion first,
        # and Bastion's refused page stops uv there instead of falling through.
        refused = run_uv(
            "install",
            "--no-deps",
            "--target",
            str(tmp_path / "uv"),
            "acme-utiIs",
            "--extra-index-url",
            server.index_url,
            index_url=static_upstream.index_url,
            home=home,
        )
        assert refused.returncode != 0, refused.output
        assert not (tmp_path / "uv" / "acme_utiis").exists()
        refused = run_pip(
            "install",
            "--no-deps",
            "--target",
            str(tmp_path / "pip"),
            "acme-utiis",
            index_url=server.index_url,
            home=home,
        )
        assert refused.returncode != 0
    assert static_upstream.requests.from_proxy() == []
