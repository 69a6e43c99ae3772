from __future__ import annotations

import httpx
import pytest

from bastion.services import Services
from tests.support.factories import Seeder

META: dict[str, object] = {
    "author": "Ada",
    "classifiers": ["Programming Language :: Python :: 3"],
    "requires_dist": ["requests>=2"],
    "project_urls": {"Source": "https://example.org/src"},
}


async def _seed(seed: Seeder) -> None:
    await seed.release("Demo_Pkg", "1.0", summary="old", requires_python=">=3.8", meta=META)
    await seed.file("Demo_Pkg", "1.0", "demo_pkg-1.0-py3-none-any.whl", metadata=b"M")
    await seed.file("Demo_Pkg", "1.0", "demo_pkg-1.0.tar.gz", packagetype="sdist")
    await seed.release("Demo_Pkg", "1.10", summary="newest", meta=META, description="# Demo")
    await seed.file("Demo_Pkg", "1.10", "demo_pkg-1.10-py3-none-any.whl")
    await seed.release("Demo_Pkg", "2.0", yanked=True, yanked_reason="bad build")
    await seed.file("Demo_Pkg", "2.0", "demo_pkg-2.0-py3-none-any.whl")
    await seed.release("Demo_Pkg", "3.0a1")


async def test_project_json(client: httpx.AsyncClient, seed: Seeder, services: Services) -> None:
    await _seed(seed)
    response = await client.get("/pypi/demo-pkg/json")
    assert response.status_code == 200
    doc = response.json()
    assert set(doc) == {"info", "last_serial", "releases", "urls", "vulnerabilities"}
    serial = await seed.serial("demo-pkg")
    assert doc["last_serial"] == serial
    assert response.headers["x-pypi-last-serial"] == str(serial)
    assert doc["vulnerabilities"] == []
    info = doc["info"]
    # The latest stable, non-yanked release.
    assert info["version"] == "1.10"
    assert info["name"] == "Demo_Pkg"
    assert info["summary"] == "newest"
    assert info["description"] == "# Demo"
    assert info["description_content_type"] == "text/markdown"
    assert info["author"] == "Ada"
    assert info["classifiers"] == META["classifiers"]
    assert info["requires_dist"] == ["requests>=2"]
    assert info["project_urls"] == {"Source": "https://example.org/src"}
    assert info["license"] is None
    assert info["yanked"] is False and info["yanked_reason"] is None
    base = services.settings.base_url
    assert info["package_url"] == f"{base}/project/demo-pkg/"
    assert info["project_url"] == f"{base}/project/demo-pkg/"
    assert info["release_url"] == f"{base}/project/demo-pkg/1.10/"
    assert list(doc["releases"]) == ["1.0", "1.10", "2.0", "3.0a1"]
    assert doc["releases"]["3.0a1"] == []
    assert [f["filename"] for f in doc["releases"]["1.0"]] == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0.tar.gz",
    ]
    assert [f["filename"] for f in doc["urls"]] == ["demo_pkg-1.10-py3-none-any.whl"]
    yanked = doc["releases"]["2.0"][0]
    assert yanked["yanked"] is True and yanked["yanked_reason"] == "bad build"


async def test_file_entries(client: httpx.AsyncClient, seed: Seeder, services: Services) -> None:
    await _seed(seed)
    wheel = next(f for f in seed.files if f.filename == "demo_pkg-1.0-py3-none-any.whl")
    doc = (await client.get("/pypi/demo-pkg/1.0/json")).json()
    entry = next(u for u in doc["urls"] if u["filename"] == wheel.filename)
    import hashlib

    assert entry["digests"] == {
        "md5": hashlib.md5(wheel.data).hexdigest(),
        "sha256": wheel.sha256,
        "blake2b_256": hashlib.blake2b(wheel.data, digest_size=32).hexdigest(),
    }
    assert entry["md5_digest"] == entry["digests"]["md5"]
    assert entry["url"] == f"{services.settings.base_url}/files/{wheel.path}"
    assert entry["size"] == len(wheel.data)
    assert entry["packagetype"] == "bdist_wheel"
    assert entry["python_version"] == "py3"
    assert entry["requires_python"] == ">=3.8"
    assert entry["yanked"] is False and entry["yanked_reason"] is None
    now = services.clock.now()
    assert entry["upload_time"] == now.strftime("%Y-%m-%dT%H:%M:%S")
    assert entry["upload_time_iso_8601"] == now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sdist = next(u for u in doc["urls"] if u["filename"].endswith(".tar.gz"))
    assert sdist["packagetype"] == "sdist" and sdist["python_version"] == "source"


async def test_release_json(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed(seed)
    response = await client.get("/pypi/demo-pkg/2.0/json")
    assert response.status_code == 200
    doc = response.json()
    assert set(doc) == {"info", "last_serial", "urls", "vulnerabilities"}
    assert doc["info"]["version"] == "2.0"
    assert doc["info"]["yanked"] is True
    assert doc["info"]["yanked_reason"] == "bad build"
    assert doc["info"]["release_url"].endswith("/project/demo-pkg/2.0/")
    assert [u["filename"] for u in doc["urls"]] == ["demo_pkg-2.0-py3-none-any.whl"]
    # Equal by PEP 440 finds the same release.
    assert (await client.get("/pypi/demo-pkg/2.0.0/json")).json()["info"]["version"] == "2.0"


async def test_all_yanked_or_prerelease_picks_something(
    client: httpx.AsyncClient, seed: Seeder
) -> None:
    await seed.release("pre", "1.0b1")
    await seed.release("pre", "1.0a1")
    assert (await client.get("/pypi/pre/json")).json()["info"]["version"] == "1.0b1"


async def test_non_normalised_names_redirect(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed(seed)
    response = await client.get("/pypi/Demo_Pkg/json")
    assert response.status_code == 301
    assert response.headers["location"].endswith("/pypi/demo-pkg/json")
    response = await client.get("/pypi/Demo.Pkg/1.0/json")
    assert response.status_code == 301
    assert response.headers["location"].endswith("/pypi/demo-pkg/1.0/json")
    followed = await client.get("/pypi/DEMO_PKG/json", follow_redirects=True)
    assert followed.status_code == 200


async def test_unknown_is_404_json(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed(seed)
    for path in ["/pypi/nope/json", "/pypi/demo-pkg/9.9/json", "/pypi/demo-pkg/not-a-v/json"]:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Not Found"}


@pytest.mark.parametrize(
    "path",
    [
        "/pypi/A%5C/json",
        "/pypi/A%5C/1.0/json",
        "/pypi/-a-/json",
        "/simple/A%5C/",
        "/simple/%E2%98%83/",
        "/project/A%5C/",
        "/pypi/" + "a" * 300 + "/json",
    ],
)
async def test_names_that_cannot_be_normalised_are_404_not_redirects(
    client: httpx.AsyncClient, path: str
) -> None:
    """``A\\`` normalises to itself lower-cased yet stays invalid: redirecting it looped."""
    response = await client.get(path, follow_redirects=False)
    assert response.status_code == 404, (path, response.headers.get("location"))
