"""Run the real clients (twine, pip, uv) as subprocesses that can only reach loopback.

The machine's own pip configuration (``/etc/xdg/pip``: find-links, extra index URLs,
a constraints file) and any ``PIP_*``/``UV_*``/``TWINE_*`` variables are shut out, so a
client sees nothing but the live server's index.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
TIMEOUT = 60.0
_DROPPED_PREFIXES = ("PIP_", "UV_", "TWINE_", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_")


@dataclass
class Run:
    """A finished client run: its command, exit code and interleaved stdout/stderr."""

    args: list[str]
    returncode: int
    output: str

    def check(self) -> Run:
        """Fail the test with the client's output unless it exited 0."""
        assert self.returncode == 0, f"{' '.join(self.args)} failed:\n{self.output}"
        return self


def client_env(home: Path | None = None) -> dict[str, str]:
    """The environment for a client: no configuration but ours, no proxies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(_DROPPED_PREFIXES) and "PROXY" not in k.upper()
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if home is not None:
        env["HOME"] = str(home)
        env["XDG_CONFIG_HOME"] = str(home / ".config")
        env["XDG_CACHE_HOME"] = str(home / ".cache")
    return env


def run(args: list[str], *, home: Path | None = None, timeout: float = TIMEOUT) -> Run:
    completed = subprocess.run(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=client_env(home),
        timeout=timeout,
        check=False,
    )
    return Run(args=args, returncode=completed.returncode, output=completed.stdout)


def run_pip(*args: str, index_url: str, home: Path | None = None) -> Run:
    """``python -m pip <command> ...`` against ``index_url`` only, without any cache."""
    command, *rest = args
    return run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "pip",
            "--isolated",
            "--disable-pip-version-check",
            "--no-input",
            command,
            "--no-cache-dir",
            "--index-url",
            index_url,
            "--retries",
            "0",
            "--timeout",
            "15",
            *rest,
        ],
        home=home,
    )


def run_uv(*args: str, index_url: str, home: Path | None = None) -> Run:
    """``uv pip <command> ...`` against ``index_url`` only, for the venv's interpreter."""
    command, *rest = args
    return run(
        [
            str(VENV_BIN / "uv"),
            "pip",
            command,
            "--no-config",
            "--no-cache",
            "--python",
            str(VENV_BIN / "python"),
            "--index-url",
            index_url,
            *rest,
        ],
        home=home,
    )


def run_twine(
    *files: Path,
    upload_url: str,
    username: str,
    password: str,
    extra: tuple[str, ...] = (),
    home: Path | None = None,
) -> Run:
    """``twine upload`` of ``files`` to ``upload_url`` with a username and password."""
    return run(
        [
            str(VENV_BIN / "twine"),
            "upload",
            "--repository-url",
            upload_url,
            "-u",
            username,
            "-p",
            password,
            "--non-interactive",
            "--disable-progress-bar",
            *extra,
            *(str(f) for f in files),
        ],
        home=home,
    )


def installed_version(target: Path, module: str) -> str:
    """The ``__version__`` of a module installed into ``--target``."""
    text = (target / module / "__init__.py").read_text()
    return text.split('"')[1]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()
