from __future__ import annotations

import html
import re

import httpx
import pytest

from bastion.app import Bastion
from bastion.services import Services
from bastion.simple.negotiation import V1_HTML, V1_JSON
from tests.support.factories import Seeder

JSON = {"Accept": V1_JSON}
METADATA = b"Metadata-Version: 2.1\nName: foo-bar\nVersion: 1.0\n"


async def _seed_foo(seed: Seeder) -> dict[str, object]:
    await seed.release("Foo_Bar", "1.0", requires_python=">=3.8,<4")
    wheel = await seed.file("Foo_Bar", "1.0", "foo_bar-1.0-py3-none-any.whl", metadata=METADATA)
    sdist = await seed.file("Foo_Bar", "1.0", "foo_bar-1.0.tar.gz", packagetype="sdist")
    await seed.release("Foo_Bar", "1.10", yanked=True, yanked_reason='broken "<b>" build')
    yanked = await seed.file("Foo_Bar", "1.10", "foo_bar-1.10-py3-none-any.whl")
    await seed.release("Foo_Bar", "1.2", yanked=True)  # yanked without a reason
    no_reason = await seed.file("Foo_Bar", "1.2", "foo_bar-1.2-py3-none-any.whl")
    await seed.release("Foo_Bar", "2.0rc1")  # a version with no files yet
    return {"wheel": wheel, "sdist": sdist, "yanked": yanked, "no_reason": no_reason}


async def test_html_page(client: httpx.AsyncClient, seed: Seeder) -> None:
    files = await _seed_foo(seed)
    response = await client.get("/simple/foo-bar/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.headers["vary"] == "Accept, Accept-Encoding"
    assert response.headers["cache-control"] == "public, max-age=600"
    assert response.headers["x-pypi-last-serial"] == str(await seed.serial("foo-bar"))
    body = response.text
    assert '<meta name="pypi:repository-version" content="1.4">' in body
    wheel = files["wheel"]
    anchor = (
        f'<a href="/files/{wheel.path}#sha256={wheel.sha256}" '  # type: ignore[attr-defined]
        'data-requires-python="&gt;=3.8,&lt;4" '
        f'data-dist-info-metadata="sha256={wheel.metadata_sha256}" '  # type: ignore[attr-defined]
        f'data-core-metadata="sha256={wheel.metadata_sha256}">'  # type: ignore[attr-defined]
        "foo_bar-1.0-py3-none-any.whl</a>"
    )
    assert anchor in body
    assert ">=3.8" not in body.replace("&gt;=3.8", "")
    assert 'data-yanked="broken &quot;&lt;b&gt;&quot; build"' in body
    assert 'data-yanked="">foo_bar-1.2-py3-none-any.whl' in body
    # The sdist has no metadata file, so no metadata attributes.
    sdist_line = next(line for line in body.splitlines() if "foo_bar-1.0.tar.gz<" in line)
    assert "metadata" not in sdist_line and "data-yanked" not in sdist_line
    # Version order (1.0 < 1.2 < 1.10), then filename within a version.
    names = re.findall(r">([^<>]+\.(?:whl|tar\.gz))</a>", body)
    assert names == [
        "foo_bar-1.0-py3-none-any.whl",
        "foo_bar-1.0.tar.gz",
        "foo_bar-1.2-py3-none-any.whl",
        "foo_bar-1.10-py3-none-any.whl",
    ]
    for href in re.findall(r'href="([^"]+)"', body):
        assert html.unescape(href).startswith("/files/") and "#sha256=" in href


async def test_v1_html_content_type(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed_foo(seed)
    response = await client.get("/simple/foo-bar/", headers={"Accept": V1_HTML})
    assert response.headers["content-type"] == V1_HTML
    assert "data-core-metadata" in response.text


async def test_json_page(client: httpx.AsyncClient, seed: Seeder, services: Services) -> None:
    files = await _seed_foo(seed)
    response = await client.get("/simple/foo-bar/", headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == V1_JSON
    doc = response.json()
    serial = await seed.serial("foo-bar")
    assert doc["meta"] == {"api-version": "1.4", "_last-serial": serial}
    assert doc["name"] == "foo-bar"
    assert doc["versions"] == ["1.0", "1.2", "1.10", "2.0rc1"]
    by_name = {f["filename"]: f for f in doc["files"]}
    wheel = files["wheel"]
    entry = by_name["foo_bar-1.0-py3-none-any.whl"]
    assert entry == {
        "filename": "foo_bar-1.0-py3-none-any.whl",
        "url": f"/files/{wheel.path}",  # type: ignore[attr-defined]
        "hashes": {"sha256": wheel.sha256},  # type: ignore[attr-defined]
        "requires-python": ">=3.8,<4",
        "yanked": False,
        "core-metadata": {"sha256": wheel.metadata_sha256},  # type: ignore[attr-defined]
        "dist-info-metadata": {"sha256": wheel.metadata_sha256},  # type: ignore[attr-defined]
        "size": len(wheel.data),  # type: ignore[attr-defined]
        "upload-time": services.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["upload-time"])
    assert by_name["foo_bar-1.0.tar.gz"]["core-metadata"] is False
    assert by_name["foo_bar-1.0.tar.gz"]["dist-info-metadata"] is False
    assert by_name["foo_bar-1.10-py3-none-any.whl"]["yanked"] == 'broken "<b>" build'
    assert by_name["foo_bar-1.2-py3-none-any.whl"]["yanked"] is True
    assert by_name["foo_bar-1.2-py3-none-any.whl"]["requires-python"] is None


async def test_format_query_overrides_accept(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed_foo(seed)
    response = await client.get(
        "/simple/foo-bar/?format=application/vnd.pypi.simple.v1+json",
        headers={"Accept": "text/html"},
    )
    assert response.headers["content-type"] == V1_JSON
    assert response.json()["name"] == "foo-bar"


async def test_not_acceptable(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed_foo(seed)
    response = await client.get("/simple/foo-bar/", headers={"Accept": "application/json"})
    assert response.status_code == 406
    assert "application/vnd.pypi.simple.v1+json" in response.text
    response = await client.get("/simple/foo-bar/?format=image/png")
    assert response.status_code == 406
    response = await client.get("/simple/", headers={"Accept": "image/png"})
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple/Foo_Bar/", "/simple/foo-bar/"),
        ("/simple/foo.bar/", "/simple/foo-bar/"),
        ("/simple/FOO--bar", "/simple/foo-bar/"),
        ("/simple/foo-bar", "/simple/foo-bar/"),
        ("/simple/Foo_Bar/?format=json", "/simple/foo-bar/?format=json"),
        ("/simple", "/simple/"),
    ],
)
async def test_redirects_to_canonical_url(
    client: httpx.AsyncClient, seed: Seeder, path: str, location: str
) -> None:
    await seed.release("Foo_Bar", "1.0")
    response = await client.get(path)
    assert response.status_code == 301
    assert response.headers["location"] == location


async def test_redirect_then_page(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed_foo(seed)
    response = await client.get("/simple/Foo.Bar", headers=JSON, follow_redirects=True)
    assert response.status_code == 200
    assert response.json()["name"] == "foo-bar"


@pytest.mark.parametrize(
    "path", ["/simple/nope/", "/simple/a/b/", "/simple//", "/simplex", "/simple/a/b"]
)
async def test_unknown_is_404_plain_text(
    client: httpx.AsyncClient, seed: Seeder, path: str
) -> None:
    await seed.release("Foo_Bar", "1.0")
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")


async def test_method_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.post("/simple/")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_head(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed_foo(seed)
    get = await client.get("/simple/foo-bar/")
    head = await client.head("/simple/foo-bar/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]


async def test_etag_and_304(client: httpx.AsyncClient, seed: Seeder) -> None:
    await _seed_foo(seed)
    first = await client.get("/simple/foo-bar/")
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = await client.get("/simple/foo-bar/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["x-pypi-last-serial"] == first.headers["x-pypi-last-serial"]
    listed = await client.get("/simple/foo-bar/", headers={"If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304
    other = await client.get("/simple/foo-bar/", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    # Each representation has its own ETag.
    as_json = await client.get("/simple/foo-bar/", headers=JSON)
    assert as_json.headers["etag"] != etag
    not_json = await client.get("/simple/foo-bar/", headers={**JSON, "If-None-Match": etag})
    assert not_json.status_code == 200


async def test_index(client: httpx.AsyncClient, seed: Seeder) -> None:
    await seed.release("Zeta", "1.0")
    await seed.release("alpha.Pkg", "1.0")
    response = await client.get("/simple/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.headers["x-pypi-last-serial"] == str(await seed.max_serial())
    body = response.text
    assert '<a href="/simple/alpha-pkg/">alpha.Pkg</a>' in body
    assert body.index("alpha-pkg") < body.index("zeta")
    doc = (await client.get("/simple/", headers=JSON)).json()
    assert doc["meta"]["api-version"] == "1.4"
    assert [p["name"] for p in doc["projects"]] == ["alpha.Pkg", "Zeta"]
    etag = response.headers["etag"]
    assert (await client.get("/simple/", headers={"If-None-Match": etag})).status_code == 304


async def test_empty_index(client: httpx.AsyncClient) -> None:
    response = await client.get("/simple/")
    assert response.status_code == 200
    assert response.headers["x-pypi-last-serial"] == "0"


async def test_invalidate_shows_new_file(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    await _seed_foo(seed)
    first = await client.get("/simple/foo-bar/")
    index = await client.get("/simple/")
    await seed.release("Foo_Bar", "3.0")
    await seed.file("Foo_Bar", "3.0", "foo_bar-3.0-py3-none-any.whl")
    await seed.release("Newcomer", "1.0")
    # Cached: the new file is not visible until the writer invalidates.
    assert "foo_bar-3.0" not in (await client.get("/simple/foo-bar/")).text
    services.pages.invalidate("foo-bar")
    second = await client.get("/simple/foo-bar/")
    assert "foo_bar-3.0-py3-none-any.whl" in second.text
    assert second.headers["etag"] != first.headers["etag"]
    assert int(second.headers["x-pypi-last-serial"]) > int(first.headers["x-pypi-last-serial"])
    stale = await client.get("/simple/foo-bar/", headers={"If-None-Match": first.headers["etag"]})
    assert stale.status_code == 200
    # The index is dropped by any project's invalidation.
    new_index = await client.get("/simple/")
    assert "newcomer" in new_index.text and "newcomer" not in index.text


async def test_ttl_expiry_rechecks_serial(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    now = [1000.0]
    services.pages.monotonic = lambda: now[0]
    ttl = services.settings.simple_cache_ttl
    await _seed_foo(seed)
    first = await client.get("/simple/foo-bar/")
    # Another worker adds a file: this process is not told.
    await seed.file("Foo_Bar", "1.0", "foo_bar-1.0-cp311-none-any.whl")
    now[0] += ttl - 1
    assert "cp311" not in (await client.get("/simple/foo-bar/")).text
    now[0] += 2
    later = await client.get("/simple/foo-bar/")
    assert "foo_bar-1.0-cp311-none-any.whl" in later.text
    assert later.headers["etag"] != first.headers["etag"]


async def test_ttl_expiry_keeps_page_when_serial_unchanged(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    now = [1000.0]
    services.pages.monotonic = lambda: now[0]
    await _seed_foo(seed)
    await client.get("/simple/foo-bar/")
    page = services.pages.pages[("foo-bar", "text/html")]
    now[0] += services.settings.simple_cache_ttl + 1
    again = await client.get("/simple/foo-bar/")
    assert again.status_code == 200
    assert services.pages.pages[("foo-bar", "text/html")] is page  # not re-rendered
    assert page.expires > now[0]


async def test_deleted_project_disappears(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    from sqlalchemy import delete

    from bastion.packaging.models import Project

    await _seed_foo(seed)
    assert (await client.get("/simple/foo-bar/")).status_code == 200
    async with services.db.transaction() as session:
        await session.execute(delete(Project).where(Project.normalized_name == "foo-bar"))
    services.pages.invalidate("foo-bar")
    assert (await client.get("/simple/foo-bar/")).status_code == 404


async def test_large_project_page(
    client: httpx.AsyncClient, seed: Seeder, services: Services
) -> None:
    """2,000 releases, one wheel each: every version and file is listed in order."""
    import hashlib
    from datetime import UTC, datetime

    from bastion.packaging.models import File, Project, Release
    from bastion.storage.interface import blob_path

    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with services.db.transaction() as session:
        project = Project(name="Big", normalized_name="big", created=when, last_serial=7)
        session.add(project)
        await session.flush()
        releases = [
            Release(
                project_id=project.id,
                version=f"{i // 100}.{i % 100}",
                canonical_version=f"{i // 100}.{i % 100}",
                created=when,
                meta={},
            )
            for i in range(2000)
        ]
        session.add_all(releases)
        await session.flush()
        for release in releases:
            filename = f"big-{release.version}-py3-none-any.whl"
            sha = hashlib.sha256(filename.encode()).hexdigest()
            session.add(
                File(
                    release_id=release.id,
                    filename=filename,
                    packagetype="bdist_wheel",
                    python_version="py3",
                    size=10,
                    sha256_digest=sha,
                    blake2_256_digest=sha,
                    md5_digest=sha[:32],
                    upload_time=when,
                    path=blob_path(sha, filename),
                )
            )
    response = await client.get("/simple/big/")
    assert response.status_code == 200
    assert response.headers["x-pypi-last-serial"] == "7"
    names = re.findall(r">(big-[^<]+\.whl)</a>", response.text)
    expected = [
        f"big-{i // 100}.{i % 100}-py3-none-any.whl"
        for i in sorted(range(2000), key=lambda i: (i // 100, i % 100))
    ]
    assert names == expected
    doc = (await client.get("/simple/big/", headers=JSON)).json()
    assert len(doc["versions"]) == 2000 and doc["versions"][:3] == ["0.0", "0.1", "0.2"]
    assert doc["versions"][-1] == "19.99"
    assert len(doc["files"]) == 2000


async def test_big_pages_are_gzipped_for_clients_that_ask(
    client: httpx.AsyncClient, seed: Seeder
) -> None:
    import gzip

    await seed.release("Foo_Bar", "1.0")
    for i in range(20):
        await seed.file("Foo_Bar", "1.0", f"foo_bar-1.0-py3-none-manylinux_{i}_x86_64.whl")
    plain = await client.get("/simple/foo-bar/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept, Accept-Encoding"
    stream = await client.get("/simple/foo-bar/", headers={"Accept-Encoding": "gzip"})
    assert stream.headers["content-encoding"] == "gzip"
    assert stream.text == plain.text  # httpx decodes it
    assert stream.headers["etag"] != plain.headers["etag"]
    raw = await client.send(
        client.build_request("GET", "/simple/foo-bar/", headers={"Accept-Encoding": "gzip"}),
        stream=True,
    )
    compressed = b"".join([chunk async for chunk in raw.aiter_raw()])
    assert gzip.decompress(compressed) == plain.content
    assert int(raw.headers["content-length"]) == len(compressed) < len(plain.content)
    refused = await client.get("/simple/foo-bar/", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    again = await client.get(
        "/simple/foo-bar/",
        headers={"Accept-Encoding": "gzip", "If-None-Match": stream.headers["etag"]},
    )
    assert again.status_code == 304


async def test_memory_answers_only_what_the_app_answers_with_a_cached_page(
    client: httpx.AsyncClient, seed: Seeder, app: Bastion
) -> None:
    """The server protocol's lookup (``cached_lookup``) gives a cached page only for the
    URLs whose answer through the app is that page: ``/simple//`` is a 404, not the index."""
    await seed.release("Foo_Bar", "1.0")
    assert (await client.get("/simple/")).status_code == 200
    assert (await client.get("/simple/foo-bar/")).status_code == 200
    for url in (b"/simple/", b"/simple/foo-bar/"):
        lookup = app.cached_lookup(url, [])
        assert lookup is not None and lookup() is not None
    for url in (b"/simple//", b"/simple/foo-bar//", b"/simple/Foo_Bar/"):
        lookup = app.cached_lookup(url, [])
        assert lookup is None or lookup() is None, url
        assert (await client.get(url.decode())).status_code in (301, 404)
