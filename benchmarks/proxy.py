"""Benchmark the upstream proxy: a warm proxied page against a locally hosted one, and
the cold fetch of an uncached name against the upstream's own latency.

Run on demand (never by the test suite)::

    .venv/bin/python benchmarks/proxy.py [--duration 10] [--connections 32]
        [--files 40] [--cold-names 30]

It writes a static PEP 503 index (``--cold-names`` + 1 projects of ``--files`` files
each) under ``benchmarks/out/proxy/`` and serves it with ``python -m http.server`` as
the upstream, seeds a local project of the same size into a fresh SQLite database, and
starts the real ``bastion serve`` with ``BASTION_UPSTREAM_URLS`` pointing at the upstream.

1. Warm: ``/simple/local-project/`` (hosted here) and ``/simple/proxied-project/``
   (pulled from upstream once, then cached) are each driven for ``--duration`` seconds by
   a keep-alive HTTP/1.1 load generator (asyncio, raw sockets; wrk is not installed
   here), alternating rounds so background load hits both alike. Goal: the proxied page
   within 10% of the local one's requests/s.
2. Cold: for each of ``--cold-names`` names never fetched, the upstream's own latency
   for its page (a direct GET), then Bastion's first GET of it (which fetches it from
   the upstream, stores the last good copy, renders). Reported as medians and the overhead.

Every process the benchmark starts is stopped on exit, by its process group.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simple_api import (
    PROCESSES,
    VENV_BIN,
    DistFile,
    dummy_wheel,
    free_port,
    seed,
    wait_until_up,
)

OUT = Path(__file__).resolve().parent / "out" / "proxy"
LOCAL = "local-project"
PROXIED = "proxied-project"
GOAL_WITHIN = 0.10


def project_files(name: str, count: int) -> list[DistFile]:
    module = name.replace("-", "_")
    return [
        DistFile(
            name,
            f"1.{i}.0",
            f"{module}-1.{i}.0-py3-none-any.whl",
            "bdist_wheel",
            dummy_wheel(name, f"1.{i}.0"),
        )
        for i in range(count)
    ]


def write_static_index(root: Path, names: list[str], files: int) -> None:
    """A PEP 503 directory: /simple/<name>/index.html and /packages/<file>."""
    packages = root / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    for name in names:
        page = root / "simple" / name
        page.mkdir(parents=True, exist_ok=True)
        links = []
        for dist in project_files(name, files):
            (packages / dist.filename).write_bytes(dist.content)
            digest = hashlib.sha256(dist.content).hexdigest()
            links.append(
                f'<a href="../../packages/{dist.filename}#sha256={digest}">{dist.filename}</a><br/>'
            )
        (page / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
        )


def start_upstream(root: Path) -> str:
    port = free_port()
    log = OUT / "upstream.log"
    proc = PROCESSES.start(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(root),
        ],
        log=log,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/simple/", proc, log)
    return url


def start_bastion(data_dir: Path, upstream_index: str) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        BASTION_DATA_DIR=str(data_dir),
        BASTION_BASE_URL=url,
        BASTION_CONFIG=str(OUT / "no-such-bastion.toml"),
        BASTION_UPSTREAM_URLS=json.dumps([upstream_index]),
        BASTION_EMBEDDED_JOBS="false",
    )
    log = OUT / "bastion.log"
    proc = PROCESSES.start(
        [
            str(VENV_BIN / "bastion"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-migrate",
        ],
        log=log,
        env=env,
        cwd=OUT,
    )
    wait_until_up(f"{url}/simple/", proc, log)
    return url


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if status != b"200":
                raise SystemExit(f"unexpected status {status!r}")
            latencies.append(time.perf_counter() - started)
            done += 1
    finally:
        writer.close()
    return done


async def load(base_url: str, path: str, seconds: float, connections: int) -> dict[str, float]:
    """Requests/s and latency percentiles for GET ``path`` over keep-alive connections."""
    url = httpx.URL(base_url)
    host, port = url.host, url.port or 80
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Accept: application/vnd.pypi.simple.v1+json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(
            _connection(host, port, request, started + seconds, latencies)
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": sum(counts) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def timed_get(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url, headers={"accept": "application/vnd.pypi.simple.v1+json"})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per warm run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating warm rounds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--files", type=int, default=40, help="files per project")
    parser.add_argument("--cold-names", type=int, default=30)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    cold = [f"cold-project-{i:03d}" for i in range(args.cold_names)]
    write_static_index(OUT / "upstream", [PROXIED, *cold], args.files)
    upstream = start_upstream(OUT / "upstream")
    data_dir = OUT / "data"
    data_dir.mkdir()
    database_url = f"sqlite+aiosqlite:///{data_dir / 'bastion.sqlite3'}"
    asyncio.run(seed(database_url, project_files(LOCAL, args.files)))
    bastion = start_bastion(data_dir, f"{upstream}/simple/")

    with httpx.Client(timeout=30) as client:
        for name in (LOCAL, PROXIED):  # fill the caches
            timed_get(client, f"{bastion}/simple/{name}/")
        sizes = {
            name: len(
                client.get(
                    f"{bastion}/simple/{name}/",
                    headers={"accept": "application/vnd.pypi.simple.v1+json"},
                ).content
            )
            for name in (LOCAL, PROXIED)
        }

        runs: dict[str, list[dict[str, float]]] = {LOCAL: [], PROXIED: []}
        for _ in range(args.rounds):
            for name in (LOCAL, PROXIED):
                runs[name].append(
                    asyncio.run(load(bastion, f"/simple/{name}/", args.duration, args.connections))
                )

        upstream_ms, cold_ms = [], []
        for name in cold:
            upstream_ms.append(timed_get(client, f"{upstream}/simple/{name}/"))
            cold_ms.append(timed_get(client, f"{bastion}/simple/{name}/"))

    print(
        f"\nwarm /simple/<name>/ (JSON, {args.files} files, {sizes[LOCAL]:,} vs "
        f"{sizes[PROXIED]:,} bytes): {args.connections} keep-alive connections, "
        f"{args.rounds} x {args.duration:g}s each, alternating; {os.cpu_count()} CPUs"
    )
    best = {}
    for name in (LOCAL, PROXIED):
        rps = [r["rps"] for r in runs[name]]
        best[name] = statistics.median(rps)
        p99 = statistics.median(r["p99_ms"] for r in runs[name])
        print(
            f"  {name:<16} median {best[name]:>9,.0f} req/s  (rounds: "
            f"{', '.join(f'{v:,.0f}' for v in rps)})  p99 {p99:.2f} ms"
        )
    gap = 1 - best[PROXIED] / best[LOCAL]
    print(
        f"goal {'HOLDS' if gap <= GOAL_WITHIN else 'FAILS'}: proxied at "
        f"{best[PROXIED] / best[LOCAL]:.1%} of local req/s (goal: within "
        f"{GOAL_WITHIN:.0%})"
    )
    up, cf = statistics.median(upstream_ms), statistics.median(cold_ms)
    print(
        f"\ncold fetch of {len(cold)} uncached names: upstream's own latency median "
        f"{up:.2f} ms (p90 {statistics.quantiles(upstream_ms, n=10)[-1]:.2f}); "
        f"through Bastion median {cf:.2f} ms (p90 "
        f"{statistics.quantiles(cold_ms, n=10)[-1]:.2f}); overhead {cf - up:.2f} ms"
    )


if __name__ == "__main__":
    main()
