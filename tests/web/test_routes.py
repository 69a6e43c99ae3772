from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bastion.services import Services

AddRelease = Callable[..., Awaitable[Any]]


async def test_home_shows_counts_and_recent_projects(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await add_release(
        "alpha",
        "1.0",
        files=["alpha-1.0.tar.gz", "alpha-1.0-py3-none-any.whl"],
        summary="First project",
    )
    await add_release("beta", "0.1", files=["beta-0.1.tar.gz"])
    await add_release("alpha", "1.1", files=["alpha-1.1.tar.gz"])
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert re.search(r"<dt>Projects</dt><dd>2</dd>", text)
    assert re.search(r"<dt>Releases</dt><dd>3</dd>", text)
    assert re.search(r"<dt>Files</dt><dd>4</dd>", text)
    assert 'name="q"' in text and 'action="/search"' in text
    # alpha was updated last, so it comes first, showing its newest version.
    assert text.index('href="/project/alpha/"') < text.index('href="/project/beta/"')
    assert "1.1" in text and "First project" not in text  # 1.1 has no summary


async def test_home_on_an_empty_index(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "Nothing has been published yet" in response.text


async def test_recent_projects_are_limited_by_setting(
    client: httpx.AsyncClient, add_release: AddRelease, services: Services
) -> None:
    services.settings = services.settings.model_copy(update={"web_recent_projects": 2})
    for i in range(4):
        await add_release(f"proj{i}", "1.0")
    text = (await client.get("/")).text
    assert "/project/proj3/" in text and "/project/proj2/" in text
    assert "/project/proj1/" not in text and "/project/proj0/" not in text


async def test_search_matches_normalised_names_exact_first(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    for name in ("my-tool-extra", "Zmy_Tool", "my.tool", "other"):
        await add_release(name, "1.0")
    response = await client.get("/search", params={"q": "My_Tool"})
    assert response.status_code == 200
    names = re.findall(r'class="project-list-name" href="/project/([^/]+)/"', response.text)
    assert names == ["my-tool", "my-tool-extra", "zmy-tool"]
    assert "3 projects matching" in response.text


async def test_search_without_query(client: httpx.AsyncClient, add_release: AddRelease) -> None:
    await add_release("alpha", "1.0")
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        response = await client.get(url)
        assert response.status_code == 200
        assert "Type part of a project name" in response.text
        assert "project-list" not in response.text


async def test_search_with_no_match(client: httpx.AsyncClient, add_release: AddRelease) -> None:
    await add_release("alpha", "1.0")
    response = await client.get("/search", params={"q": "zzz"})
    assert response.status_code == 200
    assert "No project matches" in response.text


async def test_search_treats_like_wildcards_literally(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await add_release("alpha", "1.0")
    for q in ("%", "a%a", "\\"):
        response = await client.get("/search", params={"q": q})
        assert response.status_code == 200
        assert "No project matches" in response.text


async def test_search_is_paginated(
    client: httpx.AsyncClient, add_release: AddRelease, services: Services
) -> None:
    services.settings = services.settings.model_copy(update={"web_page_size": 2})
    for i in range(5):
        await add_release(f"pkg{i}", "1.0")
    first = await client.get("/search", params={"q": "pkg"})
    assert re.findall(r'href="/project/(pkg\d)/"', first.text) == ["pkg0", "pkg1"]
    assert "Page 1 of 3" in first.text
    assert 'rel="next" href="/search?q=pkg&amp;page=2"' in first.text
    assert 'rel="prev"' not in first.text
    last = await client.get("/search", params={"q": "pkg", "page": "3"})
    assert re.findall(r'href="/project/(pkg\d)/"', last.text) == ["pkg4"]
    assert 'rel="prev" href="/search?q=pkg&amp;page=2"' in last.text
    assert 'rel="next"' not in last.text
    beyond = await client.get("/search", params={"q": "pkg", "page": "4"})
    assert beyond.status_code == 404
    assert "There is no page 4 for this search: it has 3 pages." in beyond.text


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "99999999999999999999"])
async def test_search_rejects_bad_page_numbers(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get("/search", params={"q": "x", "page": page})
    assert response.status_code == 400
    assert "The page number must be a whole number from 1 to 10000." in response.text


async def test_search_query_is_escaped(client: httpx.AsyncClient) -> None:
    response = await client.get("/search", params={"q": '"><script>alert(1)</script>'})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


README = """# Example

Install it and enjoy **bold** claims.
"""

META = {
    "author": "Ada Lovelace",
    "author_email": "ada@example.org",
    "license_expression": "MIT",
    "home_page": "https://example.org",
    "project_urls": {"Source": "https://git.example.org/example"},
    "classifiers": ["Programming Language :: Python :: 3"],
    "requires_dist": ["httpx>=0.27"],
    "keywords": "demo,example",
}


async def seed_example(add_release: AddRelease) -> None:
    await add_release("Example_Pkg", "1.0", files=["example_pkg-1.0.tar.gz"], summary="Old one")
    await add_release(
        "Example_Pkg",
        "1.10",
        files=["example_pkg-1.10.tar.gz", "example_pkg-1.10-py3-none-any.whl"],
        summary="An example package",
        description=README,
        description_content_type="text/markdown",
        meta=META,
        requires_python=">=3.11",
    )
    await add_release("Example_Pkg", "1.9", files=["example_pkg-1.9.tar.gz"])
    await add_release("Example_Pkg", "2.0b1", files=["example_pkg-2.0b1.tar.gz"])
    await add_release(
        "Example_Pkg",
        "1.11",
        yanked=True,
        yanked_reason="Broke <everything>",
        files=["example_pkg-1.11.tar.gz"],
    )


async def test_project_page(client: httpx.AsyncClient, add_release: AddRelease) -> None:
    await seed_example(add_release)
    response = await client.get("/project/example-pkg/")
    assert response.status_code == 200
    text = response.text
    # Latest non-yanked stable release: 1.10 (1.11 is yanked, 2.0b1 a pre-release).
    assert "<h1>Example_Pkg <span" in text and ">1.10</span>" in text
    assert "An example package" in text
    assert "<strong>bold</strong>" in text
    # The command for THIS index comes first (a bare `pip install` would go to pypi.org).
    assert "<code>pip install Example_Pkg</code>" not in text
    first = text.index("<code>pip install --index-url http://testserver/simple/ Example_Pkg</code>")
    assert first < text.index(
        "<code>uv pip install --index-url http://testserver/simple/ Example_Pkg</code>"
    )
    # Sidebar from Release.meta.
    assert "Ada Lovelace &lt;ada@example.org&gt;" in text
    assert '<a href="https://example.org" rel="nofollow noopener">Homepage</a>' in text
    assert '<a href="https://git.example.org/example" rel="nofollow noopener">Source</a>' in text
    assert "<dd>MIT</dd>" in text
    assert "<code>&gt;=3.11</code>" in text
    assert "<code>httpx&gt;=0.27</code>" in text
    assert "Programming Language" in text and "demo, example" in text
    # Release history, newest version first by PEP 440 ordering (not by upload time).
    history = re.findall(r'<a href="/project/example-pkg/([^/]+)/"', text)
    assert history == ["2.0b1", "1.11", "1.10", "1.9", "1.0"]
    assert "pre-release" in text
    assert "Broke &lt;everything&gt;" in text
    assert 'href="/project/example-pkg/1.10/" aria-current="page"' in text
    # Files of the shown release with size, type, hashes and a download link.
    section = text[text.index('id="files"') :]
    assert "example_pkg-1.10.tar.gz" in section and "example_pkg-1.10-py3-none-any.whl" in section
    assert "example_pkg-1.9.tar.gz" not in section
    assert section.index("example_pkg-1.10.tar.gz") < section.index("py3-none-any.whl")
    import hashlib

    sha = hashlib.sha256(b"example_pkg-1.10.tar.gz").hexdigest()
    md5 = hashlib.md5(b"example_pkg-1.10.tar.gz").hexdigest()
    blake = hashlib.blake2b(b"example_pkg-1.10.tar.gz", digest_size=32).hexdigest()
    assert f'href="/files/{sha[:2]}/{sha[2:4]}/{sha}/example_pkg-1.10.tar.gz"' in section
    for digest in (sha, md5, blake):
        assert f"<code>{digest}</code>" in section
    assert "12.3 kB" in section and "Source" in section and "Wheel" in section
    assert "Python py3" in section


async def test_version_page(client: httpx.AsyncClient, add_release: AddRelease) -> None:
    await seed_example(add_release)
    response = await client.get("/project/example-pkg/1.9/")
    assert response.status_code == 200
    text = response.text
    assert ">1.9</span>" in text
    assert "<code>pip install --index-url http://testserver/simple/ Example_Pkg==1.9</code>" in text
    assert "Newest version: 1.10" in text
    assert "example_pkg-1.9.tar.gz" in text
    assert "The author of this release did not provide a description." in text


async def test_version_page_matches_equivalent_versions(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await seed_example(add_release)
    response = await client.get("/project/example-pkg/1.10.0/")
    assert response.status_code == 200
    assert ">1.10</span>" in response.text


async def test_yanked_version_page_has_a_banner(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await seed_example(add_release)
    text = (await client.get("/project/example-pkg/1.11/")).text
    banners = text[text.index('<div class="banners">') : text.index("<main")]
    assert "This release has been yanked." in banners
    assert "Reason: Broke &lt;everything&gt;" in banners


async def test_all_yanked_shows_the_latest(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await add_release("gone", "1.0", yanked=True)
    await add_release("gone", "2.0", yanked=True, yanked_reason="")
    text = (await client.get("/project/gone/")).text
    assert ">2.0</span>" in text
    assert "No reason was given." in text


async def test_only_prereleases_shows_the_newest(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await add_release("early", "0.1a1")
    await add_release("early", "0.1b2")
    text = (await client.get("/project/early/")).text
    assert ">0.1b2</span>" in text
    assert '<span class="badge badge-pre">pre-release</span>' in text


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/project/Example_Pkg/", "/project/example-pkg/"),
        ("/project/example.pkg/", "/project/example-pkg/"),
        ("/project/EXAMPLE-PKG/1.9/", "/project/example-pkg/1.9/"),
        ("/project/Unknown__Name/", "/project/unknown-name/"),
    ],
)
async def test_non_normalised_names_redirect(
    client: httpx.AsyncClient, add_release: AddRelease, path: str, location: str
) -> None:
    await seed_example(add_release)
    response = await client.get(path)
    assert response.status_code == 301
    assert response.headers["location"] == location


async def test_unknown_project_is_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/project/nothing-here/")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no project named &#39;nothing-here&#39; on this index." in response.text


async def test_unknown_version_is_404_page(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await seed_example(add_release)
    response = await client.get("/project/example-pkg/9.9/")
    assert response.status_code == 404
    assert "has no release &#39;9.9&#39;" in response.text
    response = await client.get("/project/example-pkg/%3Cscript%3E/")
    assert response.status_code == 404
    assert "<script>" not in response.text


async def test_hostile_strings_are_escaped_or_sanitised(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    evil = '<script>alert("x")</script>'
    await add_release(
        "evil",
        "1.0",
        files=["evil-1.0.tar.gz"],
        summary=evil,
        description=f"Hello\n\n{evil}\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))",
        description_content_type="text/markdown",
        meta={
            "author": evil,
            "license": evil,
            "keywords": evil,
            "classifiers": [f"Topic :: {evil}"],
            "requires_dist": [evil],
            "project_urls": {evil: "javascript:alert(1)", "Docs": 'https://x.example/"><script>'},
            "home_page": "javascript:alert(1)",
        },
        requires_python=evil,
        yanked=True,
        yanked_reason=evil,
    )
    text = (await client.get("/project/evil/")).text
    assert "<script" not in text.lower()
    assert "onerror" not in text
    assert "javascript:" not in text.split('id="description"')[1].split("</section>")[0]
    assert 'href="javascript:' not in text
    assert html.escape(evil, quote=False) in text or "&lt;script&gt;" in text
    assert 'href="https://x.example/&#34;&gt;&lt;script&gt;"' in text


async def test_project_without_releases(client: httpx.AsyncClient, services: Services) -> None:
    from bastion.packaging.models import Project

    async with services.db.transaction() as session:
        session.add(Project(name="empty", normalized_name="empty", created=services.clock.now()))
    response = await client.get("/project/empty/")
    assert response.status_code == 200
    assert "This project has no releases." in response.text
    assert (await client.get("/project/empty/1.0/")).status_code == 404


async def test_help_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/help/")
    assert response.status_code == 200
    text = response.text
    assert 'id="file-name-reuse"' in text
    assert "http://testserver/simple/" in text and "http://testserver/legacy/" in text
    for tool in ("pip install", "uv pip install", "twine upload", "uv publish"):
        assert tool in text


async def test_pages_use_the_stylesheet_and_no_scripts(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await seed_example(add_release)
    for path in ("/", "/search?q=ex", "/project/example-pkg/", "/help/", "/project/nope/"):
        text = (await client.get(path)).text
        assert '<link rel="stylesheet" href="/static/bastion.css">' in text
        assert "<script" not in text
        assert "https://cdn" not in text and "//fonts." not in text


async def test_search_also_matches_summaries_and_keywords(
    client: httpx.AsyncClient, add_release: AddRelease
) -> None:
    await add_release("parsley", "1.0", summary="A fast TOML parser")
    await add_release("sage", "1.0", summary="Herbs", meta={"keywords": "toml,config"})
    await add_release("toml-kit", "1.0", summary="Something else")
    await add_release("thyme", "1.0", summary="Nothing to see")
    response = await client.get("/search", params={"q": "TOML"})
    names = re.findall(r'class="project-list-name" href="/project/([^/]+)/"', response.text)
    assert names == ["toml-kit", "parsley", "sage"]  # name matches first, then the text
