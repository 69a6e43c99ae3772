"""Two ``bastion serve`` processes over one database (PostgreSQL + S3 through moto, or
SQLite + a local directory): every change, made through either worker or the CLI, shows
on the other worker's very next request (read-your-writes across processes)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bastion.config import Settings
from tests.conftest import BACKEND, PASSWORD, free_port
from tests.packaging.conftest import form_for
from tests.packaging.dists import make_wheel

from .workers import BASTION, Cluster, Worker, run_workers, shared_env

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str] | None]:
    """On PostgreSQL, an S3 bucket on moto's server (loopback); on SQLite, local files."""
    if BACKEND != "postgresql":
        yield None
        return
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_DEFAULT_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                 aws_secret_access_key="test", region_name="us-east-1"
                 ).create_bucket(Bucket="bastion-scale")
    yield {**creds, "BASTION_STORAGE_BACKEND": "s3", "BASTION_S3_BUCKET": "bastion-scale",
           "BASTION_S3_ENDPOINT_URL": endpoint, "BASTION_S3_PREFIX": "blobs"}
    server.stop()


@pytest.fixture
async def cluster(
    services: object, settings: Settings, tmp_path: Path, s3_env: dict[str, str] | None,
    make_user,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Cluster]:
    await make_user("alice")
    env = shared_env(settings, tmp_path, s3_env)
    with run_workers(env, tmp_path) as running:
        yield running


async def bastion(cluster: Cluster, *args: str) -> str:
    """Run the real ``bastion`` command as another process of the index."""
    done = await asyncio.to_thread(
        subprocess.run, [str(BASTION), *args], env=cluster.env, capture_output=True,
        text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def listing(http: httpx.AsyncClient, worker: Worker, name: str) -> dict[str, object]:
    """The project's JSON page on ``worker`` ({} when it answers 404)."""
    response = await http.get(f"{worker.index_url}{name}/", headers=JSON)
    if response.status_code == 404:
        return {}
    assert response.status_code == 200, response.text
    return dict(response.json())


def files(page: dict[str, object]) -> dict[str, object]:
    """filename -> yanked (False or the reason)."""
    return {f["filename"]: f.get("yanked", False) for f in page.get("files", [])}  # type: ignore[attr-defined]


async def upload(http: httpx.AsyncClient, worker: Worker, wheel: Path) -> None:
    response = await http.post(
        f"{worker.url}/legacy/", data=form_for(wheel), auth=("alice", PASSWORD),
        files={"content": (wheel.name, wheel.read_bytes())},
    )
    assert response.status_code == 200, response.text


async def warm(http: httpx.AsyncClient, cluster: Cluster, name: str) -> None:
    """Every worker caches the page (and the index) before the next change."""
    for worker in cluster.workers:
        await listing(http, worker, name)
        await listing(http, worker, name)
        await http.get(worker.index_url, headers=JSON)


async def test_every_change_shows_on_the_other_worker_at_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    a, b = cluster.workers
    one, two = make_wheel(tmp_path, "demo", "1.0"), make_wheel(tmp_path, "demo", "2.0")
    async with httpx.AsyncClient(timeout=30) as http:
        # Upload through A; B lists it on its next request, index page included.
        await upload(http, a, one)
        assert set(files(await listing(http, b, "demo"))) == {one.name}
        await warm(http, cluster, "demo")
        await upload(http, a, two)
        page = await listing(http, b, "demo")
        assert set(files(page)) == {one.name, two.name}
        index = (await http.get(b.index_url, headers=JSON)).json()
        assert [p["name"] for p in index["projects"]] == ["demo"]
        # ... and serves the new file's metadata and the file itself.
        url = next(f["url"] for f in page["files"] if f["filename"] == two.name)  # type: ignore[attr-defined,index]
        meta = await http.get(httpx.URL(b.index_url).join(url + ".metadata"))
        assert meta.status_code == 200 and b"Version: 2.0" in meta.content
        assert (await http.get(httpx.URL(b.index_url).join(url))).content == two.read_bytes()

        # Yank through A's API: B shows the reason at once.
        await warm(http, cluster, "demo")
        response = await http.post(f"{a.url}/api/projects/demo/releases/2.0/yank",
                                   json={"reason": "broken"}, auth=("alice", PASSWORD))
        assert response.status_code == 200, response.text
        assert files(await listing(http, b, "demo"))[two.name] == "broken"

        # Un-yank with the CLI: both workers at once.
        await warm(http, cluster, "demo")
        await bastion(cluster, "project", "unyank", "demo", "2.0")
        for worker in cluster.workers:
            assert files(await listing(http, worker, "demo"))[two.name] is False

        # Delete the project with the CLI: gone everywhere, metadata included.
        await warm(http, cluster, "demo")
        for worker in cluster.workers:
            await http.get(httpx.URL(worker.index_url).join(url + ".metadata"))
        await bastion(cluster, "admin", "delete", "project", "demo", "--reason", "test")
        for worker in cluster.workers:
            assert await listing(http, worker, "demo") == {}
            assert (await http.get(worker.index_url, headers=JSON)).json()["projects"] == []
            gone = await http.get(httpx.URL(worker.index_url).join(url + ".metadata"))
            assert gone.status_code == 404

        # Restore it with the CLI: back everywhere.
        await bastion(cluster, "admin", "restore", "project", "demo")
        for worker in cluster.workers:
            assert set(files(await listing(http, worker, "demo"))) == {one.name, two.name}

        # Delete one release through the CLI, restore it: each shows at once on both.
        await warm(http, cluster, "demo")
        await bastion(cluster, "admin", "delete", "release", "demo", "1.0", "--reason", "x")
        for worker in cluster.workers:
            assert set(files(await listing(http, worker, "demo"))) == {two.name}
        await bastion(cluster, "admin", "restore", "release", "demo", "1.0")
        for worker in cluster.workers:
            assert set(files(await listing(http, worker, "demo"))) == {one.name, two.name}
