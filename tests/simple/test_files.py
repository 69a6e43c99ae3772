from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete

from bastion.packaging.models import File
from bastion.services import Services
from tests.support.factories import Seeder

METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


class Hits:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def hit(self, project: str, filename: str) -> None:
        self.calls.append((project, filename))


@pytest.fixture
def hits(services: Services) -> Hits:
    counter = Hits()
    services.downloads = counter  # type: ignore[assignment]
    return counter


async def test_serves_wheel_bytes_and_headers(
    client: httpx.AsyncClient, seed: Seeder, services: Services, hits: Hits
) -> None:
    await seed.release("Demo_Pkg", "1.0")
    wheel = await seed.file(
        "Demo_Pkg",
        "1.0",
        "demo_pkg-1.0-py3-none-any.whl",
        data=b"\x00wheel bytes\xff" * 100,
        metadata=METADATA,
    )
    response = await client.get(f"/files/{wheel.path}")
    assert response.status_code == 200
    assert response.content == wheel.data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-length"] == str(len(wheel.data))
    max_age = services.settings.files_cache_max_age
    assert response.headers["cache-control"] == f"public, max-age={max_age}, immutable"
    assert response.headers["etag"] == f'"{wheel.sha256}"'
    assert hits.calls == [("demo-pkg", "demo_pkg-1.0-py3-none-any.whl")]
    # Served again from the lookup cache, counted again.
    again = await client.get(f"/files/{wheel.path}")
    assert again.content == wheel.data
    assert len(hits.calls) == 2


async def test_serves_sdist(client: httpx.AsyncClient, seed: Seeder, hits: Hits) -> None:
    await seed.release("demo", "1.0")
    sdist = await seed.file("demo", "1.0", "demo-1.0.tar.gz", packagetype="sdist")
    response = await client.get(f"/files/{sdist.path}")
    assert response.status_code == 200 and response.content == sdist.data
    assert response.headers["content-type"] == "application/octet-stream"


async def test_serves_metadata(client: httpx.AsyncClient, seed: Seeder, hits: Hits) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl", metadata=METADATA)
    response = await client.get(f"/files/{wheel.path}.metadata")
    assert response.status_code == 200
    assert response.content == METADATA
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["etag"] == f'"{wheel.metadata_sha256}"'
    assert "immutable" in response.headers["cache-control"]
    assert hits.calls == []  # metadata fetches are not downloads


async def test_metadata_404_when_file_has_none(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    await seed.release("demo", "1.0")
    sdist = await seed.file("demo", "1.0", "demo-1.0.tar.gz", packagetype="sdist")
    # Even a stray blob is not served without a metadata hash in the database.
    await services.store.put_bytes(sdist.path + ".metadata", METADATA)
    response = await client.get(f"/files/{sdist.path}.metadata")
    assert response.status_code == 404


async def test_conditional_request(client: httpx.AsyncClient, seed: Seeder, hits: Hits) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl")
    response = await client.get(
        f"/files/{wheel.path}", headers={"If-None-Match": f'"{wheel.sha256}"'}
    )
    assert response.status_code == 304 and response.content == b""
    assert hits.calls == []


async def test_head_does_not_count(client: httpx.AsyncClient, seed: Seeder, hits: Hits) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl")
    response = await client.head(f"/files/{wheel.path}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(wheel.data))
    assert hits.calls == []


async def test_range_request(client: httpx.AsyncClient, seed: Seeder, hits: Hits) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl", data=b"0123456789")
    response = await client.get(f"/files/{wheel.path}", headers={"Range": "bytes=2-4"})
    assert response.status_code == 206 and response.content == b"234"
    assert hits.calls == []  # a range is not a download


@pytest.mark.parametrize(
    "header", ["bytes=abc", "bytes=", "items=0-4", "bytes=5-2", "bytes=1-2,x", "bytes 0-4"]
)
async def test_invalid_ranges_are_ignored(
    client: httpx.AsyncClient, seed: Seeder, hits: Hits, header: str
) -> None:
    """RFC 9110 14.2: a Range header that is not a valid bytes range set is ignored: the
    whole file, 200 (and then it is a download)."""
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl", data=b"0123456789")
    response = await client.get(f"/files/{wheel.path}", headers={"Range": header})
    assert response.status_code == 200 and response.content == b"0123456789"
    assert len(hits.calls) == 1


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=50-60", "bytes=-0"])
async def test_unsatisfiable_range_is_416(
    client: httpx.AsyncClient, seed: Seeder, hits: Hits, header: str
) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl", data=b"0123456789")
    response = await client.get(f"/files/{wheel.path}", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */10"
    assert hits.calls == []


async def test_only_complete_downloads_count(
    client: httpx.AsyncClient, seed: Seeder, hits: Hits
) -> None:
    """100 one-byte ranges, HEADs and .metadata reads add nothing; one whole GET adds one."""
    await seed.release("demo", "1.0")
    wheel = await seed.file(
        "demo", "1.0", "demo-1.0-py3-none-any.whl", data=bytes(200), metadata=METADATA
    )
    for i in range(100):
        response = await client.get(f"/files/{wheel.path}", headers={"Range": f"bytes={i}-{i}"})
        assert response.status_code == 206
    assert (await client.head(f"/files/{wheel.path}")).status_code == 200
    assert (await client.get(f"/files/{wheel.path}.metadata")).status_code == 200
    assert hits.calls == []
    assert (await client.get(f"/files/{wheel.path}")).status_code == 200
    assert hits.calls == [("demo", "demo-1.0-py3-none-any.whl")]


async def test_unknown_paths_are_404(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl")
    # A blob in the store that no file row owns is never served.
    await services.store.put_bytes("zz/zz/orphan/orphan-1.0.tar.gz", b"orphan")
    for path in [
        "/files/zz/zz/orphan/orphan-1.0.tar.gz",
        f"/files/{wheel.path}x",
        "/files/",
        "/files",
        "/filesx",
        "/files/" + wheel.path.rsplit("/", 1)[0],
    ]:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "path",
    [
        "/files/../bastion.sqlite3",
        "/files/%2e%2e/bastion.sqlite3",
        "/files/..%2fbastion.sqlite3",
        "/files/ab/../../secret_key",
        "/files//etc/passwd",
        "/files/ab/cd/./x",
        "/files/ab%5c..%5c..%5csecret_key",
        "/files/a%00b",
    ],
)
async def test_path_traversal_is_404(client: httpx.AsyncClient, seed: Seeder, path: str) -> None:
    await seed.release("demo", "1.0")
    await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl")
    response = await client.get(path)
    assert response.status_code == 404


async def test_deleted_file_is_not_served(
    client: httpx.AsyncClient, seed: Seeder, services: Services, hits: Hits
) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl")
    assert (await client.get(f"/files/{wheel.path}")).status_code == 200
    async with services.db.transaction() as session:
        await session.execute(delete(File).where(File.filename == wheel.filename))
    services.pages.invalidate("demo")
    assert (await client.get(f"/files/{wheel.path}")).status_code == 404


async def test_missing_blob_is_404(
    client: httpx.AsyncClient, seed: Seeder, services: Services, hits: Hits
) -> None:
    await seed.release("demo", "1.0")
    wheel = await seed.file("demo", "1.0", "demo-1.0-py3-none-any.whl")
    await services.store.delete(wheel.path)
    assert (await client.get(f"/files/{wheel.path}")).status_code == 404


async def test_post_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.post("/files/ab/cd/x/y.whl")
    assert response.status_code == 405
