"""Two ``bastion serve`` processes over one database (PostgreSQL + S3 through moto, or
SQLite + a local directory): every change, made through either worker or the CLI, shows
on the other worker's very next request (read-your-writes across processes)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bastion.config import Settings
from bastion.db.locks import lock_file
from bastion.jobs import JOBS
from bastion.scheduling.models import JobRun
from bastion.services import Services
from tests.support.database import BACKEND
from tests.support.dists import Dist, make_wheel
from tests.support.factories import PASSWORD
from tests.support.servers import free_port
from tests.support.types import MakeUser
from tests.support.web import form_for

from .clients import installed_version, run_pip, run_twine, run_uv
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
    creds = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket="bastion-scale")
    yield {
        **creds,
        "BASTION_STORAGE_BACKEND": "s3",
        "BASTION_S3_BUCKET": "bastion-scale",
        "BASTION_S3_ENDPOINT_URL": endpoint,
        "BASTION_S3_PREFIX": "blobs",
    }
    server.stop()


@pytest.fixture
def feed_env() -> dict[str, str]:
    """How the workers hear of each other's changes: by the database unless a test says."""
    return {}


def redis_feed() -> dict[str, str]:
    return {
        "BASTION_REDIS_URL": "redis://127.0.0.1:6379/0",
        "BASTION_REDIS_CHANNEL_PREFIX": f"bastion-test-{uuid.uuid4().hex}",
    }


@pytest.fixture
async def cluster(
    services: Services,
    settings: Settings,
    tmp_path: Path,
    s3_env: dict[str, str] | None,
    make_user: MakeUser,
    feed_env: dict[str, str],
) -> AsyncIterator[Cluster]:
    if feed_env and BACKEND != "postgresql":
        pytest.skip("Redis carries the feed for PostgreSQL behind a transaction pool")
    await make_user("alice")
    env = {**shared_env(settings, tmp_path, s3_env), **feed_env}
    with run_workers(env, tmp_path) as running:
        yield running


async def bastion(cluster: Cluster, *args: str) -> str:
    """Run the real ``bastion`` command as another process of the index."""
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BASTION), *args],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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
        f"{worker.url}/legacy/",
        data=form_for(wheel),
        auth=("alice", PASSWORD),
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
    cluster: Cluster, tmp_path: Path, home: Path
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
        url = next(f["url"] for f in page["files"] if f["filename"] == two.name)  # type: ignore[attr-defined]
        meta = await http.get(httpx.URL(b.index_url).join(url + ".metadata"))
        assert meta.status_code == 200 and b"Version: 2.0" in meta.content
        assert (await http.get(httpx.URL(b.index_url).join(url))).content == two.read_bytes()

        # Yank through A's API: B shows the reason at once.
        await warm(http, cluster, "demo")
        response = await http.post(
            f"{a.url}/api/projects/demo/releases/2.0/yank",
            json={"reason": "broken"},
            auth=("alice", PASSWORD),
        )
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

    await installs_through_the_other(cluster, tmp_path, home)


async def installs_through_the_other(cluster: Cluster, directory: Path, home: Path) -> None:
    """The real clients: each twine upload through A installs through B at once, though B
    cached the project's page (at the version before) in between."""
    a, b = cluster.workers
    for version, install in (("1.0", run_pip), ("2.0", run_uv)):
        wheel = Dist.wheel(directory, "Scale_Demo", version)
        run_twine(
            wheel.path,
            upload_url=f"{a.url}/legacy/",
            username="alice",
            password=PASSWORD,
            home=home,
        ).check()
        target = directory / f"target-{version}"
        install(
            "install",
            "--no-deps",
            "--target",
            str(target),
            f"scale-demo=={version}",
            index_url=b.index_url,
            home=home,
        ).check()
        assert installed_version(target, wheel.module) == version


@pytest.mark.parametrize("feed_env", [redis_feed()], ids=["redis-feed"])
async def test_changes_travel_by_redis_when_configured(
    cluster: Cluster, tmp_path: Path, home: Path
) -> None:
    """BASTION_REDIS_URL: the workers' and the CLI's changes go by Redis pub/sub."""
    await installs_through_the_other(cluster, tmp_path, home)
    async with httpx.AsyncClient(timeout=30) as http:
        await warm(http, cluster, "scale-demo")
        await bastion(cluster, "admin", "delete", "project", "scale-demo", "--reason", "test")
        for worker in cluster.workers:
            assert await listing(http, worker, "scale-demo") == {}
        await bastion(cluster, "admin", "restore", "project", "scale-demo")
        for worker in cluster.workers:
            assert len(files(await listing(http, worker, "scale-demo"))) == 2


class WriteBlock:
    """Hold the job_runs table (PostgreSQL) or the SQLite write lock from the test, so a
    worker that took a job's lock is stuck inside it until :meth:`release`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pg: asyncpg.Connection | None = None
        self.sqlite: sqlite3.Connection | None = None

    async def hold(self) -> None:
        url = make_url(self.settings.resolved_database_url)
        if BACKEND == "postgresql":
            self.pg = await asyncpg.connect(
                url.set(drivername="postgresql").render_as_string(hide_password=False)
            )
            await self.pg.execute("BEGIN; LOCK TABLE job_runs IN EXCLUSIVE MODE")
        else:
            self.sqlite = sqlite3.connect(str(url.database), isolation_level=None)
            self.sqlite.execute("BEGIN IMMEDIATE")

    async def release(self) -> None:
        if self.pg is not None:
            await self.pg.close()  # rolls the lock back
            self.pg = None
        if self.sqlite is not None:
            self.sqlite.close()
            self.sqlite = None

    async def job_locks_held(self) -> int:
        """How many processes hold a job's lock right now."""
        if self.pg is not None:
            return int(
                await self.pg.fetchval(
                    "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND granted AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database())"
                )
            )
        held = 0
        for job in JOBS:
            path = lock_file(self.settings.resolved_database_url, f"bastion-job:{job.name}")
            assert path is not None
            fd = os.open(path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held += 1
            finally:
                os.close(fd)
        return held


async def test_jobs_started_in_both_workers_at_once_run_once(
    services: Services,
    settings: Settings,
    tmp_path: Path,
    s3_env: dict[str, str] | None,
) -> None:
    """Both workers embed the daily jobs and catch up at start, at the same time (held
    inside their first job by the test's write lock): each job still runs once."""
    env = shared_env(settings, tmp_path, s3_env)
    block = WriteBlock(settings)
    await block.hold()
    try:
        with run_workers(env, tmp_path, extra={"BASTION_EMBEDDED_JOBS": "true"}):
            for _ in range(300):
                if await block.job_locks_held() >= 2:
                    break
                await asyncio.sleep(0.1)
            both_at_once = await block.job_locks_held()
            await block.release()
            for _ in range(600):  # generous: the CPU is shared
                async with services.db.session() as session:
                    done = set(
                        await session.scalars(
                            select(JobRun.name).where(JobRun.succeeded.is_not(None))
                        )
                    )
                if done >= {job.name for job in JOBS}:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # let the other worker reach (and skip) every job too
    finally:
        await block.release()
    assert both_at_once >= 2, "the two workers never ran jobs at the same time"
    async with services.db.session() as session:
        rows = list(await session.scalars(select(JobRun)))
    assert sorted(r.name for r in rows) == sorted(job.name for job in JOBS)
    assert all(r.succeeded for r in rows), [(r.name, r.detail) for r in rows]
