"""A private index: real pip and uv read with a read token in the URL and in ``.netrc``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import Settings
from tests.support.dists import Dist
from tests.support.servers import LiveServer
from tests.support.types import CliRun, Upload

from .clients import run_pip, run_uv

pytestmark = [pytest.mark.e2e, pytest.mark.one_backend]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"private_index": True})


def installed_version(target: Path, module: str) -> str:
    return (target / module / "__init__.py").read_text().split('"')[1]


async def test_pip_and_uv_read_a_private_index_with_a_read_token(
    live_server: LiveServer,
    upload: Upload,
    publisher: str,
    cli: CliRun,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    upload(Dist.wheel(dist_dir, "secret-sauce", "1.0").path).check()
    created = await cli(
        "token", "create", publisher, "--scope", "read", "--read-project", "secret-*"
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()

    # Without credentials both clients are turned away.
    for run in (run_pip, run_uv):
        refused = run(
            "install",
            "--no-deps",
            "--target",
            str(tmp_path / f"no-{run.__name__}"),
            "secret-sauce",
            index_url=live_server.index_url,
            home=home,
        )
        assert refused.returncode != 0

    # Credentials in the index URL.
    host = live_server.url.removeprefix("http://")
    with_token = f"http://__token__:{token}@{host}/simple/"
    run_pip(
        "install",
        "--no-deps",
        "--target",
        str(tmp_path / "pip-url"),
        "secret-sauce",
        index_url=with_token,
        home=home,
    ).check()
    run_uv(
        "install",
        "--no-deps",
        "--target",
        str(tmp_path / "uv-url"),
        "secret-sauce",
        index_url=with_token,
        home=home,
    ).check()
    assert installed_version(tmp_path / "uv-url", "secret_sauce") == "1.0"

    # Credentials in ~/.netrc, the index URL bare.
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin __token__\npassword {token}\n")
    netrc.chmod(0o600)
    run_pip(
        "install",
        "--no-deps",
        "--target",
        str(tmp_path / "pip-netrc"),
        "secret-sauce",
        index_url=live_server.index_url,
        home=home,
    ).check()
    run_uv(
        "install",
        "--no-deps",
        "--target",
        str(tmp_path / "uv-netrc"),
        "secret-sauce",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert installed_version(tmp_path / "pip-netrc", "secret_sauce") == "1.0"
