"""Real pip and uv against a Bastion that proxies real upstreams on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bastion.services import Services
from bastion.stats.models import ProjectDayDownloads
from bastion.upstream.models import UpstreamFile
from tests.e2e.clients import run_pip, run_twine, run_uv, sha256_file
from tests.support.dists import Dist
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer
from tests.support.types import CliRun, StartProxy
from tests.upstream.servers import add_publisher, rules_changed

from .servers import StaticIndex, UpstreamBastion

pytestmark = [pytest.mark.e2e, pytest.mark.one_backend]


def installed_version(target: Path, module: str) -> str:
    return (target / module / "__init__.py").read_text().split('"')[1]


def publish(server: LiveServer, username: str, dist: Dist, home: Path) -> str:
    result = run_twine(
        dist.path, upload_url=server.upload_url, username=username, password=PASSWORD, home=home
    )
    return result.output if result.returncode else result.check().output


def pip_install(server: LiveServer, requirement: str, target: Path, home: Path, *extra: str) -> str:
    return (
        run_pip(
            "install",
            "--no-deps",
            "--target",
            str(target),
            requirement,
            *extra,
            index_url=server.index_url,
            home=home,
        )
        .check()
        .output
    )


def uv_install(server: LiveServer, requirement: str, target: Path, home: Path, *extra: str) -> str:
    return (
        run_uv(
            "install",
            "--no-deps",
            "--target",
            str(target),
            requirement,
            *extra,
            index_url=server.index_url,
            home=home,
        )
        .check()
        .output
    )


async def test_internal_name_wins_and_is_never_looked_up_upstream(
    start_proxy: StartProxy,
    bastion_upstream: UpstreamBastion,
    services: Services,
    cli: CliRun,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    up = bastion_upstream
    await add_publisher(up.server.services, "mallory")
    publish(up.server, "mallory", Dist.wheel(dist_dir / "evil", "acme-utils", "99.0"), home)
    with start_proxy([up.index_url]) as server:
        await add_publisher(services, "alice")
        publish(server, "alice", Dist.wheel(dist_dir / "good", "acme-utils", "1.0"), home)
        up.requests.clear()

        pip_install(server, "acme-utils", tmp_path / "pip", home)
        assert installed_version(tmp_path / "pip", "acme_utils") == "1.0"
        uv_install(server, "acme-utils", tmp_path / "uv", home)
        assert installed_version(tmp_path / "uv", "acme_utils") == "1.0"
        assert up.requests.about("acme") == []  # not one request reached the upstream

        # A reserved pattern: a private name with nothing local yet answers 200, empty,
        # so uv does not fall through to the next index (where the attacker waits).
        publish(up.server, "mallory", Dist.wheel(dist_dir / "evil2", "acme-secret", "99.0"), home)
        assert (await cli("origin", "set", "acme-*", "--upstream", "block")).exit_code == 0
        rules_changed(server)
        up.requests.clear()
        async with httpx.AsyncClient() as http:
            page = await http.get(
                f"{server.index_url}acme-secret/",
                headers={"accept": "application/vnd.pypi.simple.v1+json"},
            )
        assert page.status_code == 200
        assert page.json()["files"] == []
        assert "reserved" in page.json()["meta"]["_message"]
        # uv asks --extra-index-url first, the default index only after it: Bastion first.
        refused = run_uv(
            "install",
            "--no-deps",
            "--target",
            str(tmp_path / "uv2"),
            "acme-secret",
            "--extra-index-url",
            server.index_url,
            index_url=up.index_url,
            home=home,
        )
        assert refused.returncode != 0, refused.output
        assert not (tmp_path / "uv2" / "acme_secret").exists()
        refused = run_pip(
            "install",
            "--no-deps",
            "--target",
            str(tmp_path / "pip2"),
            "acme-secret",
            index_url=server.index_url,
            home=home,
        )
        assert refused.returncode != 0
        assert up.requests.from_proxy("acme") == []


async def test_public_package_through_the_proxy_with_verified_hashes(
    start_proxy: StartProxy,
    static_upstream: StaticIndex,
    services: Services,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    wheel = Dist.wheel(dist_dir, "leftpad", "1.0")
    static_upstream.publish("leftpad", wheel.path)
    with start_proxy([static_upstream.index_url]) as server:
        downloads = tmp_path / "downloads"
        run_pip(
            "download",
            "--no-deps",
            "-d",
            str(downloads),
            "leftpad",
            index_url=server.index_url,
            home=home,
        ).check()
        assert sha256_file(downloads / wheel.filename) == wheel.sha256

        requirements = tmp_path / "requirements.txt"
        requirements.write_text(f"leftpad==1.0 --hash=sha256:{wheel.sha256}\n")
        run_uv(
            "install",
            "--no-deps",
            "--require-hashes",
            "--target",
            str(tmp_path / "uv"),
            "-r",
            str(requirements),
            index_url=server.index_url,
            home=home,
        ).check()
        run_pip(
            "install",
            "--no-deps",
            "--require-hashes",
            "--target",
            str(tmp_path / "pip"),
            "-r",
            str(requirements),
            index_url=server.index_url,
            home=home,
        ).check()
        assert installed_version(tmp_path / "uv", "leftpad") == "1.0"

        async with httpx.AsyncClient() as http:
            page = await http.get(
                f"{server.index_url}leftpad/",
                headers={"accept": "application/vnd.pypi.simple.v1+json"},
            )
        (item,) = page.json()["files"]
        assert item["url"] == f"/files/upstream/leftpad/{wheel.sha256}/{wheel.filename}"
        assert item["hashes"] == {"sha256": wheel.sha256}
        assert page.json()["tracks"] == [f"{static_upstream.index_url}leftpad/"]
        # Pulled once, served from Bastion's store after that.
        assert len(static_upstream.requests.about(f"/packages/{wheel.filename}")) == 1
        await server.services.downloads.flush(server.services.db)
        async with services.db.session() as session:
            counted = await session.scalar(
                select(ProjectDayDownloads.downloads).where(
                    ProjectDayDownloads.project == "leftpad"
                )
            )
        assert counted == 3  # pip download, uv install, pip install


async def test_pep_658_metadata_from_an_upstream_bastion(
    start_proxy: StartProxy,
    bastion_upstream: UpstreamBastion,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    up = bastion_upstream
    await add_publisher(up.server.services, "bob")
    wheel = Dist.wheel(dist_dir, "public-meta", "2.0", requires_python=">=3.8")
    publish(up.server, "bob", wheel, home)
    with start_proxy([up.index_url]) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            page = await http.get(
                "/simple/public-meta/", headers={"accept": "application/vnd.pypi.simple.v1+json"}
            )
            (item,) = page.json()["files"]
            assert item["requires-python"] == ">=3.8"
            assert item["size"] == wheel.path.stat().st_size and item["upload-time"]
            metadata = await http.get(item["url"] + ".metadata")
        assert metadata.status_code == 200
        assert metadata.text == wheel.metadata
        assert item["core-metadata"] == {
            "sha256": __import__("hashlib").sha256(metadata.content).hexdigest()
        }
        pip_install(server, "public-meta==2.0", tmp_path / "pip", home)
        assert installed_version(tmp_path / "pip", "public_meta") == "2.0"
        assert len(up.requests.from_proxy("/simple/public-meta/")) == 1  # one page fetch


async def test_a_tampered_upstream_file_is_refused(
    start_proxy: StartProxy,
    static_upstream: StaticIndex,
    services: Services,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    wheel = Dist.wheel(dist_dir, "tampered", "1.0")
    static_upstream.publish(
        "tampered", wheel.path, serve_instead={wheel.filename: b"PK\x03\x04 not what was listed"}
    )
    with start_proxy([static_upstream.index_url]) as server:
        for run in (run_pip, run_uv):
            refused = run(
                "install",
                "--no-deps",
                "--target",
                str(tmp_path / run.__name__),
                "tampered",
                index_url=server.index_url,
                home=home,
            )
            assert refused.returncode != 0
            assert not (tmp_path / run.__name__ / "tampered").exists()
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.get(f"/files/upstream/tampered/{wheel.sha256}/{wheel.filename}")
        assert response.status_code == 502
        assert "does not match" in response.text
        async with services.db.session() as session:
            assert (await session.scalars(select(UpstreamFile))).all() == []


async def test_upstream_down_cached_still_installs_uncached_fails_fast(
    start_proxy: StartProxy,
    static_upstream: StaticIndex,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    cached = Dist.wheel(dist_dir, "cached-pkg", "1.0")
    static_upstream.publish("cached-pkg", cached.path)
    static_upstream.publish("never-fetched", Dist.wheel(dist_dir, "never-fetched", "1.0").path)
    with start_proxy([static_upstream.index_url], upstream_ttl=0.0) as server:
        pip_install(server, "cached-pkg", tmp_path / "first", home)
        static_upstream.stop()

        pip_install(server, "cached-pkg", tmp_path / "pip", home)
        uv_install(server, "cached-pkg", tmp_path / "uv", home)
        assert installed_version(tmp_path / "uv", "cached_pkg") == "1.0"

        started = time.monotonic()
        failed = run_pip(
            "install",
            "--no-deps",
            "--target",
            str(tmp_path / "x"),
            "never-fetched",
            index_url=server.index_url,
            home=home,
        )
        assert failed.returncode != 0
        assert time.monotonic() - started < 15
        async with httpx.AsyncClient(base_url=server.url) as http:
            started = time.monotonic()
            response = await http.get("/simple/never-fetched/")
            assert time.monotonic() - started < 4
        assert response.status_code == 502
        assert "cannot be reached" in response.text

    # A restarted process (or another worker) serves the last good copy from the database.
    with start_proxy([static_upstream.index_url]) as server:
        uv_install(server, "cached-pkg", tmp_path / "after-restart", home)


async def test_a_silent_upstream_answers_504_within_the_timeout(
    start_proxy: StartProxy,
) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/simple/"
        with start_proxy([url], upstream_timeout=1.0) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                started = time.monotonic()
                response = await http.get("/simple/slow-pkg/")
                elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert "did not answer" in response.text
    assert elapsed < 3


async def test_cooldown_holds_back_young_upstream_releases(
    start_proxy: StartProxy,
    bastion_upstream: UpstreamBastion,
    cli: CliRun,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    up = bastion_upstream
    await add_publisher(up.server.services, "bob")
    publish(up.server, "bob", Dist.wheel(dist_dir, "cool-pkg", "1.0"), home)  # 30 days ago
    up.clock.set(up.clock.now() + __import__("datetime").timedelta(days=29))
    fresh = Dist.wheel(dist_dir, "cool-pkg", "2.0")
    publish(up.server, "bob", fresh, home)  # a day ago
    with start_proxy([up.index_url], upstream_cooldown_days=3) as server:
        pip_install(server, "cool-pkg", tmp_path / "pip", home)
        assert installed_version(tmp_path / "pip", "cool_pkg") == "1.0"
        uv_install(server, "cool-pkg", tmp_path / "uv", home)
        assert installed_version(tmp_path / "uv", "cool_pkg") == "1.0"
        async with httpx.AsyncClient(base_url=server.url) as http:
            held = await http.get(f"/files/upstream/cool-pkg/{fresh.sha256}/{fresh.filename}")
        assert held.status_code == 404 and "cool-down" in held.text

        assert (await cli("origin", "set", "cool-pkg", "--cooldown-days", "0")).exit_code == 0
        rules_changed(server)
        pip_install(server, "cool-pkg", tmp_path / "pip2", home)
        assert installed_version(tmp_path / "pip2", "cool_pkg") == "2.0"


async def test_a_name_pulled_from_upstream_refuses_local_uploads_until_allowed(
    start_proxy: StartProxy,
    static_upstream: StaticIndex,
    services: Services,
    cli: CliRun,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    static_upstream.publish("shared-name", Dist.wheel(dist_dir / "up", "shared-name", "1.0").path)
    with start_proxy([static_upstream.index_url]) as server:
        await add_publisher(services, "alice")
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/simple/shared-name/")).status_code == 200  # pulled
        local = Dist.wheel(dist_dir / "local", "shared-name", "2.0")
        refused = run_twine(
            local.path, upload_url=server.upload_url, username="alice", password=PASSWORD, home=home
        )
        assert refused.returncode != 0
        assert "first pulled from an upstream index" in " ".join(refused.output.split())

        result = await cli("origin", "set", "shared-name", "--publish", "allow")
        assert result.exit_code == 0, result.output
        rules_changed(server)
        publish(server, "alice", local, home)
        async with httpx.AsyncClient(base_url=server.url) as http:
            page = (
                await http.get(
                    "/simple/shared-name/",
                    headers={"accept": "application/vnd.pypi.simple.v1+json"},
                )
            ).json()
        assert page["versions"] == ["1.0", "2.0"]  # both switches allow: merged
        assert page["alternate-locations"] == [
            f"{server.index_url}shared-name/",
            f"{static_upstream.index_url}shared-name/",
        ]
        pip_install(server, "shared-name", tmp_path / "pip", home)
        assert installed_version(tmp_path / "pip", "shared_name") == "2.0"
