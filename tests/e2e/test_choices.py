"""What pip and uv choose from the index: yanked releases, Requires-Python, PEP 658 metadata."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.dists import Dist
from tests.support.servers import LiveServer
from tests.support.types import Upload

from .clients import run_pip, run_uv

pytestmark = [pytest.mark.e2e, pytest.mark.one_backend]

Yank = Callable[[str, str, str], Awaitable[None]]


def dist_info_versions(target: Path, module: str) -> list[str]:
    """Versions installed into ``--target``, read from the dist-info directory names."""
    return sorted(
        p.name.removesuffix(".dist-info").split("-", 1)[1]
        for p in target.glob(f"{module}-*.dist-info")
    )


async def test_yanked_release_is_chosen_only_when_pinned(
    live_server: LiveServer,
    upload: Upload,
    yank: Yank,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    old = Dist.wheel(dist_dir, "yanky", "1.0")
    new = Dist.wheel(dist_dir, "yanky", "2.0")
    upload(old.path, new.path).check()
    reason = 'broken <build> & "bad" import'
    await yank("yanky", "2.0", reason)

    unpinned = tmp_path / "unpinned"
    run_pip(
        "download",
        "--no-deps",
        "-d",
        str(unpinned),
        "yanky",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert [p.name for p in unpinned.iterdir()] == [old.filename]

    pinned = tmp_path / "pinned"
    result = run_pip(
        "download",
        "--no-deps",
        "-d",
        str(pinned),
        "yanky==2.0",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert [p.name for p in pinned.iterdir()] == [new.filename]
    assert "The candidate selected for download or install is a yanked version" in result.output
    assert f"Reason for being yanked: {reason}" in result.output

    uv_target = tmp_path / "uv-unpinned"
    run_uv(
        "install",
        "--no-deps",
        "--target",
        str(uv_target),
        "yanky",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert dist_info_versions(uv_target, "yanky") == ["1.0"]

    uv_pinned = tmp_path / "uv-pinned"
    run_uv(
        "install",
        "--no-deps",
        "--target",
        str(uv_pinned),
        "yanky==2.0",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert dist_info_versions(uv_pinned, "yanky") == ["2.0"]


async def test_requires_python_excludes_a_release(
    live_server: LiveServer, upload: Upload, dist_dir: Path, tmp_path: Path, home: Path
) -> None:
    # "<" must survive the HTML/JSON escaping of the page.
    old = Dist.wheel(dist_dir, "pychooser", "1.0", requires_python=">=3.8,<4")
    new = Dist.wheel(dist_dir, "pychooser", "2.0", requires_python=">=4")
    upload(old.path, new.path).check()

    downloads = tmp_path / "downloads"
    result = run_pip(
        "download",
        "--no-deps",
        "-v",
        "-d",
        str(downloads),
        "pychooser",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert [p.name for p in downloads.iterdir()] == [old.filename]
    skipped = r"Link requires a different Python \(\S+ not in: '>=4'\): \S+/pychooser-2\.0-py3"
    assert re.search(skipped, result.output), result.output

    refused = run_pip(
        "download",
        "--no-deps",
        "-d",
        str(tmp_path / "none"),
        "pychooser==2.0",
        index_url=live_server.index_url,
        home=home,
    )
    assert refused.returncode != 0
    assert "Requires-Python >=4" in refused.output or "requires a different Python" in (
        refused.output
    ), refused.output

    uv_target = tmp_path / "uv-target"
    run_uv(
        "install",
        "--no-deps",
        "--target",
        str(uv_target),
        "pychooser",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert dist_info_versions(uv_target, "pychooser") == ["1.0"]


async def test_pip_resolves_from_pep658_metadata(
    live_server: LiveServer, upload: Upload, dist_dir: Path, tmp_path: Path, home: Path
) -> None:
    """pip reads each wheel's METADATA from ``<file>.metadata`` before downloading it."""
    dependency = Dist.wheel(dist_dir, "meta-dep", "1.1")
    app = Dist.wheel(dist_dir, "meta-app", "3.0", requires_dist=("meta-dep>=1",))
    upload(dependency.path, app.path).check()

    downloads = tmp_path / "downloads"
    result = run_pip(
        "download",
        "-v",
        "-d",
        str(downloads),
        "meta-app",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert sorted(p.name for p in downloads.iterdir()) == sorted(
        [app.filename, dependency.filename]
    )
    fetched = re.findall(r"Obtaining dependency information for (\S+) from (\S+)", result.output)
    urls = {url for _req, url in fetched}
    assert any(
        url.startswith(live_server.url) and f"/{app.filename}.metadata" in url for url in urls
    ), result.output
    assert any(f"/{dependency.filename}.metadata" in url for url in urls), result.output
    # pip compares the sidecar with the wheel's own METADATA; a mismatch would fail the run.
    assert "does not match" not in result.output
