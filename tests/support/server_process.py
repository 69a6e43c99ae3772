"""``bastion serve`` in a child process (several workers), for tests that need real
concurrency across processes or that kill the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bastion.config import Settings

BASTION = Path(sys.executable).parent / "bastion"


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that configures a ``bastion`` process like ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        {
            "BASTION_DATA_DIR": str(settings.data_dir),
            "BASTION_DATABASE_URL": settings.resolved_database_url,
            "BASTION_SECRET_KEY": settings.secret_key or "",
            "BASTION_BASE_URL": settings.base_url,
            "BASTION_CONFIG": str(settings.data_dir / "no-such.toml"),
            "BASTION_EMBEDDED_JOBS": "false",
            "BASTION_PASSWORD_HASH_TIME_COST": "1",
            "BASTION_PASSWORD_HASH_MEMORY_KIB": "1024",
            "BASTION_PASSWORD_HASH_PARALLELISM": "1",
            # Small pools: several workers and the other test worker stay under
            # PostgreSQL's max_connections.
            "BASTION_DATABASE_POOL_SIZE": "5",
            "BASTION_DATABASE_MAX_OVERFLOW": "5",
        }
    )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def upload_url(self) -> str:
        return f"{self.url}/legacy/"

    def kill(self) -> None:
        """``kill -9`` the whole process group (the supervisor and its workers)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bastion serve exited with {process.returncode}")
        try:
            httpx.get(f"{url}/simple/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"bastion serve at {url} did not start")


@contextmanager
def serve_process(
    settings: Settings, port: int, *, workers: int = 2, log: Path | None = None, **env: str
) -> Iterator[ServerProcess]:
    """Run ``bastion serve --workers N`` for ``settings`` (schema already made) on ``port``."""
    url = f"http://127.0.0.1:{port}"
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [str(BASTION), "serve", "--port", str(port), "--workers", str(workers), "--no-migrate"],
        env=server_env(settings.model_copy(update={"base_url": url}), **env),
        stdout=out,
        stderr=out,
        start_new_session=True,
    )
    server = ServerProcess(url, process)
    try:
        wait_until_up(url, process)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if log is not None:
            out.close()  # type: ignore[union-attr]
