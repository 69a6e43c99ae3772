"""Upstream pages: PEP 691 JSON and PEP 503 HTML into plain data; unverifiable files dropped."""

from __future__ import annotations

import json

import pytest

from bastion.upstream.documents import InvalidUpstreamPage, UpstreamDoc, parse_html, parse_json

SHA = "a" * 64
META = "b" * 64
INDEX = "https://up.example/simple/"


def test_json_page() -> None:
    body = json.dumps(
        {
            "meta": {"api-version": "1.1", "_last-serial": 7},
            "name": "demo",
            "files": [
                {
                    "filename": "demo-1.0-py3-none-any.whl",
                    "url": "../../files/demo-1.0-py3-none-any.whl",
                    "hashes": {"sha256": SHA},
                    "requires-python": ">=3.9",
                    "yanked": "broken",
                    "core-metadata": {"sha256": META},
                    "size": 12,
                    "upload-time": "2026-01-02T03:04:05.000000Z",
                },
                {
                    "filename": "demo-0.9.tar.gz",
                    "url": "https://cdn/demo-0.9.tar.gz",
                    "hashes": {"md5": "x"},
                },  # no sha256: cannot be verified, dropped
                {"filename": "../evil-1.0.tar.gz", "url": "x", "hashes": {"sha256": SHA}},
            ],
            "versions": ["0.9", "1.0"],
        }
    ).encode()
    doc = parse_json(body, name="demo", index_url=INDEX, serial=0, etag='"e"')
    (dist,) = doc.files
    assert dist.url == "https://up.example/files/demo-1.0-py3-none-any.whl"
    assert (dist.sha256, dist.version, dist.requires_python) == (SHA, "1.0", ">=3.9")
    assert (dist.yanked, dist.yanked_reason, dist.metadata_sha256) == (True, "broken", META)
    assert dist.size == 12 and dist.upload_time is not None
    assert doc.serial == 7 and doc.page_url == "https://up.example/simple/demo/"
    again = UpstreamDoc.from_json(doc.to_json(), name="demo", index_url=INDEX, serial=7, etag='"e"')
    assert again == doc


def test_html_page() -> None:
    body = f"""<!DOCTYPE html><html><body>
    <a href="/packages/demo-1.0.tar.gz#sha256={SHA}" data-requires-python="&gt;=3.8"
       data-core-metadata="sha256={META}">demo-1.0.tar.gz</a>
    <a href="/packages/demo-0.1.tar.gz#md5=abc">demo-0.1.tar.gz</a>
    <a href="/packages/demo-0.2.tar.gz#sha256={SHA}" data-yanked="">demo-0.2.tar.gz</a>
    </body></html>""".encode()
    doc = parse_html(body, name="demo", index_url=INDEX, serial=3, etag=None)
    assert [d.filename for d in doc.files] == ["demo-1.0.tar.gz", "demo-0.2.tar.gz"]
    first, second = doc.files
    assert first.url == "https://up.example/packages/demo-1.0.tar.gz"
    assert first.requires_python == ">=3.8" and first.metadata_sha256 == META
    assert second.yanked and second.upload_time is None
    assert doc.versions == ("0.2", "1.0")


def test_not_a_page() -> None:
    with pytest.raises(InvalidUpstreamPage):
        parse_json(b"<html>", name="demo", index_url=INDEX, serial=0, etag=None)
