"""twine against the upload endpoint: --skip-existing, and refusals twine shows to the user."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from importlib.metadata import version as installed_version
from pathlib import Path

import httpx
import pytest
from packaging.version import Version

from tests.support.dists import Dist
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer
from tests.support.types import Upload

from .clients import run_pip, run_twine

pytestmark = pytest.mark.e2e
MakeUser = Callable[[str], Awaitable[object]]

# twine 6.2 dropped --skip-existing for every index but PyPI's (a client-side refusal).
TWINE_SKIPS_FOR_ANY_INDEX = Version(installed_version("twine")) < Version("6.2")


@pytest.mark.skipif(
    not TWINE_SKIPS_FOR_ANY_INDEX,
    reason="twine>=6.2 allows --skip-existing only for PyPI; the dev extra pins twine<6.2",
)
async def test_skip_existing_on_a_second_upload(
    live_server: LiveServer, upload: Upload, dist_dir: Path, tmp_path: Path, home: Path
) -> None:
    first = Dist.wheel(dist_dir, "again", "1.0")
    upload(first.path).check()
    upload(first.path).check()  # the very same file again: 200, as on PyPI (CI retries)

    rebuilt_dir = dist_dir / "rebuilt"
    rebuilt_dir.mkdir()
    wheel = Dist.wheel(rebuilt_dir, "again", "1.0", requires_dist=("idna",))  # other bytes
    refused = upload(wheel.path)
    assert refused.returncode != 0
    assert "400" in refused.output
    assert f"File already exists ('{wheel.filename}'" in one_line(refused.output), refused.output

    skipped = upload(wheel.path, extra=("--skip-existing",)).check()
    assert f"Skipping {wheel.filename}" in one_line(skipped.output), skipped.output

    # A new file goes up in the same run as the skipped one.
    newer = Dist.wheel(dist_dir, "again", "1.1")
    both = upload(wheel.path, newer.path, extra=("--skip-existing",)).check()
    assert "Skipping" in both.output
    downloads = tmp_path / "downloads"
    run_pip(
        "download",
        "--no-deps",
        "-d",
        str(downloads),
        "again",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert [p.name for p in downloads.iterdir()] == [newer.filename]


async def test_wrong_password_is_refused_with_our_message(
    live_server: LiveServer, upload: Upload, dist_dir: Path
) -> None:
    wheel = Dist.wheel(dist_dir, "nopass", "1.0")
    refused = upload(wheel.path, password="not the password")
    assert refused.returncode != 0
    output = one_line(refused.output)
    assert "401" in output or "403" in output, output
    assert "Invalid or non-existent authentication information" in output, output
    assert index_status(live_server, "nopass") == 404
    assert stored_blobs(live_server) == []


async def test_mismatched_filename_is_refused_with_our_message(
    live_server: LiveServer, upload: Upload, dist_dir: Path
) -> None:
    """A wheel whose filename names another project than its metadata."""
    built = Dist.wheel(dist_dir, "realname", "1.0")
    renamed = dist_dir / "othername-1.0-py3-none-any.whl"
    shutil.move(built.path, renamed)
    refused = upload(renamed)
    assert refused.returncode != 0
    output = one_line(refused.output)
    assert "400" in output, output
    assert (
        "The filename 'othername-1.0-py3-none-any.whl' does not match the project name "
        "'realname'" in output
    ), output
    assert index_status(live_server, "realname") == 404
    assert index_status(live_server, "othername") == 404
    assert stored_blobs(live_server) == []


async def test_upload_to_another_users_project_is_refused(
    live_server: LiveServer, upload: Upload, make_user: MakeUser, dist_dir: Path, home: Path
) -> None:
    first = Dist.wheel(dist_dir, "owned", "1.0")
    upload(first.path).check()
    before = stored_blobs(live_server)
    await make_user("mallory")
    second = Dist.wheel(dist_dir, "owned", "1.1")
    refused = run_twine(
        second.path,
        upload_url=live_server.upload_url,
        username="mallory",
        password=PASSWORD,
        home=home,
    )
    assert refused.returncode != 0
    output = one_line(refused.output)
    assert "403" in output, output
    assert "The user 'mallory' isn't allowed to upload to project 'owned'" in output, output
    assert stored_blobs(live_server) == before


def index_status(live: LiveServer, name: str) -> int:
    return httpx.get(f"{live.index_url}{name}/", timeout=10).status_code


def stored_blobs(live: LiveServer) -> list[str]:
    """Every file under the server's file store (temporary files included)."""
    root = live.services.settings.resolved_files_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def one_line(output: str) -> str:
    """twine's output with its line wrapping undone."""
    return " ".join(output.split())
