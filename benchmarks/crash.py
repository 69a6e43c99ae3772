"""Crash test: ``kill -9`` the server while 4 clients upload 600 files; restart; verify.

A real ``bastion serve --workers 2`` (its own process group) on a fresh data dir and
database; 4 clients upload 600 distinct wheels (some of them 256 KiB, so a kill lands
while a blob is being written as well as between requests) with an API token. After
``--kill-after`` acknowledged uploads the whole process group gets SIGKILL; the clients
see connection errors and retry each unacknowledged file once the server is back (a
retry of the same bytes answers 200, as on PyPI). Then it verifies, over the database,
the store and HTTP:

* acknowledged: uploads that got a 200;
* lost: acknowledged files missing from the database or the store, or whose download
  differs from what was sent (must be 0);
* half-visible: file rows whose blob (or advertised metadata) is missing or wrong, i.e.
  something pip could see but not install (must be 0);
* orphans: blobs no row references and temp files, before and after
  ``bastion admin sweep`` (after: must be 0).

    .venv/bin/python benchmarks/crash.py                       # SQLite
    .venv/bin/python benchmarks/crash.py --database-url postgresql://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
BASTION = str(BIN / "bastion")
PASSWORD = "a long passphrase for the crash test"


@dataclass(frozen=True)
class Wheel:
    filename: str
    name: str
    version: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def make_wheel(name: str, version: str, payload: bytes) -> Wheel:
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    members = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{module}/payload.bin": payload,
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: crash test\n"
        ).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: crash\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    members[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for path, data in members.items():
            zf.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
    return Wheel(f"{module}-{version}-py3-none-any.whl", name, version, buffer.getvalue())


def make_wheels(count: int, seed: int) -> list[Wheel]:
    rng = random.Random(seed)
    wheels = []
    for i in range(count):
        size = 256 * 1024 if i % 5 == 0 else rng.randrange(100, 4000)
        # Several projects (new ones are created during the run) and many versions each.
        wheels.append(make_wheel(f"crash-{i % 12}", f"1.{i}", rng.randbytes(size)))
    return wheels


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Run:
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    acknowledged: dict[str, str] = field(default_factory=dict)  # filename -> sha256
    refused: dict[str, str] = field(default_factory=dict)  # filename -> reason
    errors: int = 0
    retries: int = 0
    kills: int = 0

    def bastion(self, *args: str, **extra: str) -> str:
        result = subprocess.run(
            [BASTION, *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"bastion {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> None:
        port = self.url.rsplit(":", 1)[1]
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [BASTION, "serve", "--port", port, "--workers", "2", "--no-migrate"],
            env=self.env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/simple/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


async def client(run: Run, queue: asyncio.Queue[Wheel], token: str) -> None:
    async with httpx.AsyncClient(timeout=30, auth=("__token__", token)) as http:
        while True:
            try:
                wheel = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            while True:
                try:
                    response = await http.post(
                        f"{run.url}/legacy/",
                        data={
                            ":action": "file_upload",
                            "protocol_version": "1",
                            "name": wheel.name,
                            "version": wheel.version,
                            "filetype": "bdist_wheel",
                            "pyversion": "py3",
                            "metadata_version": "2.1",
                            "sha256_digest": wheel.sha256,
                        },
                        files={"content": (wheel.filename, wheel.data, "application/octet-stream")},
                    )
                except httpx.TransportError:
                    run.errors += 1
                    run.retries += 1
                    await asyncio.sleep(0.2)  # the server is down: retry once it is back
                    continue
                if response.status_code == 200:
                    run.acknowledged[wheel.filename] = wheel.sha256
                elif response.status_code >= 500:
                    run.errors += 1
                    run.retries += 1
                    await asyncio.sleep(0.2)
                    continue
                else:
                    run.refused[wheel.filename] = f"{response.status_code} {response.text.strip()}"
                break


async def killer(run: Run, kill_after: int, kills: int) -> None:
    loop = asyncio.get_running_loop()
    for round_ in range(1, kills + 1):
        while len(run.acknowledged) < kill_after * round_:
            await asyncio.sleep(0.005)
        await asyncio.sleep(random.uniform(0, 0.05))  # land anywhere inside a request
        run.kill()
        await loop.run_in_executor(None, run.start)


async def upload_all(
    run: Run, wheels: list[Wheel], token: str, clients: int, kill_after: int, kills: int
) -> float:
    queue: asyncio.Queue[Wheel] = asyncio.Queue()
    for wheel in wheels:
        queue.put_nowait(wheel)
    started = time.perf_counter()
    kill_task = asyncio.create_task(killer(run, kill_after, kills))
    await asyncio.gather(*(client(run, queue, token) for _ in range(clients)))
    if not kill_task.done():
        kill_task.cancel()
    return time.perf_counter() - started


async def verify(
    run: Run, database_url: str, files_dir: Path, wheels: list[Wheel]
) -> dict[str, int]:
    """Counts from the database, the store and HTTP."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT filename, sha256_digest, path, metadata_sha256 FROM files")
            )
        ).all()
    await engine.dispose()
    by_name = {w.filename: w for w in wheels}
    stored = {r.filename: r for r in rows}
    lost = 0
    for filename, sha256 in run.acknowledged.items():
        row = stored.get(filename)
        if row is None or row.sha256_digest != sha256:
            lost += 1
    half_visible = 0
    async with httpx.AsyncClient(timeout=30) as http:
        for row in rows:
            blob = files_dir / row.path
            ok = blob.is_file() and sha256_of(blob) == row.sha256_digest
            if ok:
                response = await http.get(f"{run.url}/files/{row.path}")
                ok = response.status_code == 200 and (
                    hashlib.sha256(response.content).hexdigest() == row.sha256_digest
                )
            if ok and row.metadata_sha256:
                meta = files_dir / (row.path + ".metadata")
                ok = meta.is_file() and sha256_of(meta) == row.metadata_sha256
            if not ok or row.filename not in by_name:
                half_visible += 1
    referenced = {r.path for r in rows} | {r.path + ".metadata" for r in rows if r.metadata_sha256}
    return {
        "rows": len(rows),
        "lost": lost,
        "half_visible": half_visible,
        "referenced": len(referenced),
    }


def leftovers(files_dir: Path, data_dir: Path, referenced: set[str]) -> tuple[int, int]:
    """(orphan blobs, temp files) on disk now."""
    orphans = temp = 0
    for path in files_dir.rglob("*"):
        if not path.is_file():
            continue
        if path.name.startswith(".tmp-"):
            temp += 1
        elif str(path.relative_to(files_dir)) not in referenced:
            orphans += 1
    parts = data_dir / "tmp"
    temp += len(list(parts.glob("upload-*.part"))) if parts.is_dir() else 0
    return orphans, temp


async def referenced_paths(database_url: str) -> set[str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT path, metadata_sha256 FROM files"))).all()
    await engine.dispose()
    return {r.path for r in rows} | {r.path + ".metadata" for r in rows if r.metadata_sha256}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--kill-after", type=int, default=200, help="acknowledged uploads before each kill -9"
    )
    parser.add_argument("--kills", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server URL (a database is created and dropped); "
        "default: SQLite in the data dir",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)

    data_dir = Path(tempfile.mkdtemp(prefix="bastion-crash-"))
    pg_name = ""
    admin_url = args.database_url
    if admin_url:
        import asyncpg

        pg_name = f"bastion_crash_{uuid.uuid4().hex[:8]}"
        plain = admin_url.replace("postgresql+asyncpg://", "postgresql://")

        async def admin(sql: str) -> None:
            conn = await asyncpg.connect(plain)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(admin(f'CREATE DATABASE "{pg_name}"'))
        database_url = plain.rsplit("/", 1)[0] + "/" + pg_name
        async_url = database_url.replace("postgresql://", "postgresql+asyncpg://")
    else:
        database_url = f"sqlite:///{data_dir / 'bastion.sqlite3'}"
        async_url = f"sqlite+aiosqlite:///{data_dir / 'bastion.sqlite3'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        {
            "BASTION_DATA_DIR": str(data_dir),
            "BASTION_DATABASE_URL": database_url,
            "BASTION_BASE_URL": f"http://127.0.0.1:{port}",
            "BASTION_EMBEDDED_JOBS": "false",
            "BASTION_CONFIG": str(data_dir / "none.toml"),
            "BASTION_SECRET_KEY": "crash-test-secret-key-not-for-production",
        }
    )
    run = Run(f"http://127.0.0.1:{port}", env, data_dir / "server.log")
    try:
        run.bastion("db", "upgrade")
        run.bastion(
            "user", "create", "bench", "--email", "bench@example.org", "--password", PASSWORD
        )
        token = run.bastion("token", "create", "bench").strip().splitlines()[-1]
        wheels = make_wheels(args.uploads, args.seed)
        run.start()
        seconds = asyncio.run(
            upload_all(run, wheels, token, args.clients, args.kill_after, args.kills)
        )
        figures = asyncio.run(verify(run, async_url, data_dir / "files", wheels))
        run.stop()
        referenced = asyncio.run(referenced_paths(async_url))
        orphans_before, temp_before = leftovers(data_dir / "files", data_dir, referenced)
        swept = run.bastion(
            "admin", "sweep", BASTION_ORPHAN_GRACE_MINUTES="0", BASTION_TEMP_GRACE_MINUTES="0"
        )
        orphans_after, temp_after = leftovers(data_dir / "files", data_dir, referenced)
        # The sweep must not have taken anything a row serves.
        swept_away = sum(not (data_dir / "files" / path).is_file() for path in referenced)
        backend = "PostgreSQL" if pg_name else "SQLite"
        print(
            f"backend: {backend}, bastion serve --workers 2, {args.clients} clients, "
            f"{args.uploads} uploads, kill -9 x{run.kills} (after every "
            f"{args.kill_after} acknowledged)"
        )
        print(f"elapsed: {seconds:.1f} s; connection errors/5xx retried: {run.retries}")
        print(f"acknowledged: {len(run.acknowledged)}")
        print(
            f"refused (4xx): {len(run.refused)}"
            + (f" e.g. {next(iter(run.refused.values()))}" if run.refused else "")
        )
        print(f"file rows: {figures['rows']}")
        print(f"lost: {figures['lost']}")
        print(f"half-visible: {figures['half_visible']}")
        print(f"orphans before the sweep: {orphans_before} blob(s), {temp_before} temp file(s)")
        print(f"sweep: {swept.strip().splitlines()[-1]}")
        print(f"orphans left after the sweep: {orphans_after + temp_after}")
        print(f"referenced blobs removed by the sweep: {swept_away}")
        ok = (
            figures["lost"] == 0
            and figures["half_visible"] == 0
            and orphans_after + temp_after == 0
            and swept_away == 0
            and len(run.acknowledged) == args.uploads
        )
        print("OK" if ok else "FAILED")
        if not ok:
            sys.exit(1)
    finally:
        run.stop()
        if pg_name:
            import asyncpg

            async def drop() -> None:
                conn = await asyncpg.connect(
                    admin_url.replace("postgresql+asyncpg://", "postgresql://")
                )
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
                finally:
                    await conn.close()

            asyncio.run(drop())
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
