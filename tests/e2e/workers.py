"""Separate ``bastion serve`` processes over one database and one store: a scaled-out index.

On PostgreSQL the store is S3 (moto's server on loopback); on SQLite, one local
directory. Every worker gets the same settings by environment, as an operator would
give them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bastion.config import Settings
from tests.support.servers import free_port

BASTION = Path(sys.executable).parent / "bastion"


@dataclass
class Worker:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def index_url(self) -> str:
        return f"{self.url}/simple/"


@dataclass
class Cluster:
    workers: list[Worker]
    env: dict[str, str] = field(default_factory=dict)  # what every process shares


def shared_env(settings: Settings, tmp_path: Path, s3: Mapping[str, str] | None) -> dict[str, str]:
    """The settings every process of the index must share, as environment variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BASTION_") or k.startswith("BASTION_PASSWORD_HASH_")
    }
    env.update(
        {
            "BASTION_DATA_DIR": str(settings.data_dir),
            "BASTION_DATABASE_URL": settings.resolved_database_url,
            "BASTION_SECRET_KEY": settings.secret_key,
            "BASTION_CONFIG": str(tmp_path / "no-such.toml"),
            "BASTION_EMBEDDED_JOBS": "false",
            "BASTION_BASE_URL": "http://127.0.0.1",
            "BASTION_DATABASE_POOL_SIZE": "5",  # under max_connections with the other worker
            "BASTION_DATABASE_MAX_OVERFLOW": "5",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        }
    )
    if s3 is not None:
        env.update(s3)
    else:
        env["BASTION_FILES_DIR"] = str(settings.resolved_files_dir)
    return env


@contextmanager
def run_workers(
    env: Mapping[str, str], log_dir: Path, count: int = 2, extra: Mapping[str, str] | None = None
) -> Iterator[Cluster]:
    """``count`` single-worker ``bastion serve`` processes, stopped when the block ends."""
    workers: list[Worker] = []
    try:
        for n in range(count):
            port = free_port()
            log = log_dir / f"worker-{n}.log"
            process = subprocess.Popen(
                [str(BASTION), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
                env={**env, **(extra or {})},
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            workers.append(Worker(f"http://127.0.0.1:{port}", process, log))
        for worker in workers:
            wait_ready(worker)
        yield Cluster(workers, dict(env))
    finally:
        for worker in workers:
            worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.process.kill()


def wait_ready(worker: Worker, timeout: float = 120.0) -> None:  # the CPU may be busy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited:\n{worker.log.read_text()}")
        try:
            if httpx.get(worker.index_url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"worker {worker.url} not ready:\n{worker.log.read_text()}")
