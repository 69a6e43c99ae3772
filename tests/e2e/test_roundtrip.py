"""A wheel and an sdist go up with twine and come back byte-identical through pip and uv."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.dists import Dist
from tests.support.servers import LiveServer
from tests.support.types import Upload

from .clients import installed_version, run_pip, run_uv, sha256_file

pytestmark = [pytest.mark.e2e, pytest.mark.one_backend]


async def test_wheel_round_trip(
    live_server: LiveServer, upload: Upload, dist_dir: Path, tmp_path: Path, home: Path
) -> None:
    wheel = Dist.wheel(dist_dir, "Round.Trip_Wheel", "1.0")
    result = upload(wheel.path).check()
    assert wheel.filename in result.output

    downloads = tmp_path / "downloads"
    run_pip(
        "download",
        "--no-deps",
        "-d",
        str(downloads),
        "round-trip-wheel",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert [p.name for p in downloads.iterdir()] == [wheel.filename]
    assert sha256_file(downloads / wheel.filename) == wheel.sha256

    pip_target = tmp_path / "pip-target"
    run_pip(
        "install",
        "--no-deps",
        "--target",
        str(pip_target),
        "Round_Trip.Wheel==1.0",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert installed_version(pip_target, wheel.module) == "1.0"

    # uv must receive exactly the bytes we built: it checks them against the pinned hash.
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"round-trip-wheel==1.0 --hash=sha256:{wheel.sha256}\n")
    uv_target = tmp_path / "uv-target"
    run_uv(
        "install",
        "--no-deps",
        "--require-hashes",
        "--target",
        str(uv_target),
        "-r",
        str(requirements),
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert installed_version(uv_target, wheel.module) == "1.0"


async def test_sdist_round_trip(
    live_server: LiveServer, upload: Upload, dist_dir: Path, tmp_path: Path, home: Path
) -> None:
    sdist = Dist.sdist(dist_dir, "round-trip-sdist", "2.0")
    upload(sdist.path).check()

    downloads = tmp_path / "downloads"
    run_pip(
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--no-build-isolation",
        "-d",
        str(downloads),
        "round-trip-sdist",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert [p.name for p in downloads.iterdir()] == [sdist.filename]
    assert sha256_file(downloads / sdist.filename) == sdist.sha256

    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"round-trip-sdist==2.0 --hash=sha256:{sdist.sha256}\n")
    pip_target = tmp_path / "pip-target"
    run_pip(
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--require-hashes",
        "--target",
        str(pip_target),
        "-r",
        str(requirements),
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert installed_version(pip_target, sdist.module) == "2.0"

    uv_target = tmp_path / "uv-target"
    run_uv(
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--require-hashes",
        "--target",
        str(uv_target),
        "-r",
        str(requirements),
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert installed_version(uv_target, sdist.module) == "2.0"


async def test_wheel_and_sdist_of_one_release(
    live_server: LiveServer, upload: Upload, dist_dir: Path, tmp_path: Path, home: Path
) -> None:
    """Both files of a release in one twine run; pip prefers the wheel, and can get the sdist."""
    wheel = Dist.wheel(dist_dir, "both-kinds", "0.3")
    sdist = Dist.sdist(dist_dir, "both-kinds", "0.3")
    upload(sdist.path, wheel.path).check()

    wheels = tmp_path / "wheels"
    run_pip(
        "download",
        "--no-deps",
        "-d",
        str(wheels),
        "both-kinds",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert sha256_file(wheels / wheel.filename) == wheel.sha256

    sdists = tmp_path / "sdists"
    run_pip(
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--no-build-isolation",
        "-d",
        str(sdists),
        "both-kinds",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert sha256_file(sdists / sdist.filename) == sdist.sha256
