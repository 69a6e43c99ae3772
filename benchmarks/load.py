"""Load and faults: installers and uploaders at once against a scaled-out Bastion.

Run on demand (never by the test suite)::

    .venv/bin/python benchmarks/load.py [--duration 60] [--installers 200] [--uploaders 20]
        [--workers 2] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

It creates a PostgreSQL database of its own (dropped at the end), starts moto's S3
server on loopback, runs ``bastion db upgrade`` and ``bastion serve --workers N`` over
them, seeds a few projects, then for ``--duration`` seconds runs

- installers, each in a loop: ``/simple/<name>/`` (JSON, as pip and uv ask), the newest
  file's ``.metadata`` (PEP 658), then the file itself (checked against its sha256);
- uploaders, each in a loop: a fresh wheel of its own project through ``/legacy/`` with
  an API token, as twine does;

and prints the requests, the errors (the goal is none), p50/p99 latency per route, and
whether every acknowledged upload is installable afterwards (listed on the simple page,
its metadata and file served with the right digest). Every process it starts is stopped
on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import hashlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "load"
VENV_BIN = Path(sys.executable).parent
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
PROCESSES: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        list(args), stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    PROCESSES.append(proc)
    return proc


@atexit.register
def stop_all() -> None:
    for proc in PROCESSES:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in PROCESSES:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    PROCESSES.clear()


def wait_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited; see {log}:\n{log.read_text()[-3000:]}")
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up; see {log}")


def wheel(name: str, version: str) -> tuple[str, bytes]:
    """A small well-formed wheel: METADATA, WHEEL and RECORD."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    members = {
        f"{module}/__init__.py": b"",
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: load test\n"
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: load\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            zf.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
        zf.writestr(
            zipfile.ZipInfo(f"{info}/RECORD", (2020, 1, 1, 0, 0, 0)),
            "".join(f"{p},,\n" for p in members) + f"{info}/RECORD,,\n",
        )
    return f"{module}-{version}-py3-none-any.whl", raw.getvalue()


def form(name: str, version: str, content: bytes) -> dict[str, str]:
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)  # a few error descriptions

    def error(self, route: str, what: str) -> None:
        self.errors[route] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{route}: {what}")


@dataclass
class Upload:
    name: str
    version: str
    filename: str
    sha256: str


class Load:
    def __init__(self, base: str, token: str, seeds: list[Upload]) -> None:
        self.base = base
        self.token = token
        self.stats = Stats()
        self.installable = list(seeds)  # what installers pick from (grows with uploads)
        self.acknowledged: list[Upload] = []
        self.stop_at = 0.0

    async def timed(self, route: str, request: Awaitable[httpx.Response]) -> httpx.Response | None:
        start = time.perf_counter()
        self.stats.requests[route] += 1
        try:
            response = await request
        except httpx.HTTPError as exc:
            self.stats.error(route, f"{type(exc).__name__}: {exc}")
            return None
        self.stats.latencies[route].append(time.perf_counter() - start)
        if response.status_code != 200:
            self.stats.error(route, f"{response.status_code} {response.reason_phrase}")
            return None
        return response

    async def installer(self, http: httpx.AsyncClient) -> None:
        while time.monotonic() < self.stop_at:
            target = random.choice(self.installable)
            page = await self.timed(
                "simple page",
                http.get(f"{self.base}/simple/{target.name}/", headers={"Accept": JSON_ACCEPT}),
            )
            if page is None:
                continue
            files = page.json()["files"]
            if not files:
                self.stats.error("simple page", f"{target.name}: no files listed")
                continue
            newest = files[-1]
            url = httpx.URL(f"{self.base}/simple/{target.name}/").join(newest["url"])
            if await self.timed("metadata", http.get(str(url) + ".metadata")) is None:
                continue
            blob = await self.timed("file", http.get(url))
            if (
                blob is not None
                and hashlib.sha256(blob.content).hexdigest() != newest["hashes"]["sha256"]
            ):
                self.stats.error("file", f"{newest['filename']}: wrong sha256")

    async def uploader(self, http: httpx.AsyncClient, n: int) -> None:
        name = f"load-upload-{n:02d}"
        release = 0
        while time.monotonic() < self.stop_at:
            release += 1
            version = f"1.0.{release}"
            filename, content = wheel(name, version)
            response = await self.timed(
                "upload",
                http.post(
                    f"{self.base}/legacy/",
                    data=form(name, version, content),
                    files={"content": (filename, content)},
                    auth=("__token__", self.token),
                ),
            )
            if response is not None:
                done = Upload(name, version, filename, hashlib.sha256(content).hexdigest())
                self.acknowledged.append(done)
                self.installable.append(done)

    async def verify(self, http: httpx.AsyncClient) -> list[str]:
        """Every acknowledged upload: listed, its metadata and file served intact."""
        problems: list[str] = []
        pages: dict[str, dict[str, object]] = {}
        for upload in self.acknowledged:
            if upload.name not in pages:
                response = await http.get(
                    f"{self.base}/simple/{upload.name}/", headers={"Accept": JSON_ACCEPT}
                )
                pages[upload.name] = response.json() if response.status_code == 200 else {}
            listed = {f["filename"]: f for f in pages[upload.name].get("files", [])}  # type: ignore[attr-defined]
            entry = listed.get(upload.filename)
            if entry is None:
                problems.append(f"{upload.filename}: not listed")
                continue
            url = httpx.URL(f"{self.base}/simple/{upload.name}/").join(entry["url"])
            blob = await http.get(url)
            meta = await http.get(str(url) + ".metadata")
            if blob.status_code != 200 or hashlib.sha256(blob.content).hexdigest() != upload.sha256:
                problems.append(f"{upload.filename}: file {blob.status_code} or bad digest")
            if meta.status_code != 200 or f"Version: {upload.version}".encode() not in meta.content:
                problems.append(f"{upload.filename}: metadata {meta.status_code}")
        return problems


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def drive(args: argparse.Namespace, base: str, token: str, seeds: list[Upload]) -> int:
    load = Load(base, token, seeds)
    limits = httpx.Limits(
        max_connections=args.installers + args.uploaders + 10,
        max_keepalive_connections=args.installers + args.uploaders + 10,
    )
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        load.stop_at = time.monotonic() + args.duration
        started = time.monotonic()
        await asyncio.gather(
            *(load.installer(http) for _ in range(args.installers)),
            *(load.uploader(http, n) for n in range(args.uploaders)),
        )
        elapsed = time.monotonic() - started
        problems = await load.verify(http)

    stats = load.stats
    total = sum(stats.requests.values())
    errors = sum(stats.errors.values())
    print(
        f"\n{args.installers} installers + {args.uploaders} uploaders for {elapsed:.0f}s "
        f"against bastion serve --workers {args.workers} (PostgreSQL + S3 on moto), "
        f"{os.cpu_count()} CPUs shared with the load generator"
    )
    print(f"{'route':<12} {'requests':>9} {'req/s':>8} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for route in ("simple page", "metadata", "file", "upload"):
        values = stats.latencies.get(route, [])
        count = stats.requests.get(route, 0)
        print(
            f"{route:<12} {count:>9,} {count / elapsed:>8,.0f} "
            f"{stats.errors.get(route, 0):>7} {percentile(values, 0.5):>8.1f} "
            f"{percentile(values, 0.99):>8.1f}"
        )
    print(f"requests: {total:,}, errors: {errors} (goal 0)")
    for sample in stats.samples:
        print("  error:", sample)
    print(
        f"acknowledged uploads: {len(load.acknowledged)}; installable afterwards: "
        f"{len(load.acknowledged) - len({p.split(':')[0] for p in problems})}"
        f" ({'all' if not problems else 'NOT all'})"
    )
    for problem in problems[:20]:
        print("  lost:", problem)
    return 0 if not problems and not errors else 1


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--installers", type=int, default=200)
    parser.add_argument("--uploaders", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed-projects", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server; a database of the run's own is made there",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    OUT.mkdir(parents=True, exist_ok=True)

    import asyncpg

    base_dsn = args.database_url.rsplit("/", 1)[0]
    name = f"bastion_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    atexit.register(lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))

    s3_port, port = free_port(), free_port()
    s3 = f"http://127.0.0.1:{s3_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        BASTION_DATA_DIR=str(OUT / "data"),
        BASTION_DATABASE_URL=f"{base_dsn}/{name}",
        BASTION_STORAGE_BACKEND="s3",
        BASTION_S3_BUCKET="bastion-load",
        BASTION_S3_ENDPOINT_URL=s3,
        BASTION_S3_PREFIX="blobs",
        BASTION_SECRET_KEY="load-test-secret-key",
        BASTION_CONFIG=str(OUT / "no-such.toml"),
        BASTION_BASE_URL=f"http://127.0.0.1:{port}",
        BASTION_EMBEDDED_JOBS="false",
        # Longer than the client keeps idle connections: the client closes first, so a
        # request never races the server closing an idle connection (as behind nginx).
        BASTION_KEEP_ALIVE_SECONDS="120",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    moto = start(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
        OUT / "moto.log",
        env,
    )
    wait_up(s3, moto, OUT / "moto.log")
    httpx.put(f"{s3}/bastion-load")  # create the bucket

    bastion = str(VENV_BIN / "bastion")
    subprocess.run([bastion, "db", "upgrade"], env=env, check=True)
    subprocess.run(
        [
            bastion,
            "user",
            "create",
            "loader",
            "--email",
            "loader@example.org",
            "--password",
            "a long load-test passphrase",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [bastion, "token", "create", "loader"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    server = start(
        [
            bastion,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--no-migrate",
        ],
        OUT / "bastion.log",
        env,
    )
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/_health/", server, OUT / "bastion.log")

    seeds: list[Upload] = []
    with httpx.Client(timeout=60) as http:
        for n in range(args.seed_projects):
            pname = f"load-seed-{n:02d}"
            filename, content = wheel(pname, "1.0")
            response = http.post(
                f"{base}/legacy/",
                data=form(pname, "1.0", content),
                files={"content": (filename, content)},
                auth=("__token__", token),
            )
            response.raise_for_status()
            seeds.append(Upload(pname, "1.0", filename, hashlib.sha256(content).hexdigest()))
    print(f"seeded {len(seeds)} projects; load for {args.duration:g}s", flush=True)
    code = asyncio.run(drive(args, base, token, seeds))
    stop_all()
    raise SystemExit(code)


if __name__ == "__main__":
    main()
