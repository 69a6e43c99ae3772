"""Streaming the multipart body: fields as lists, the file hashed to disk, limits, cleanup."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bastion.errors import BadRequest, PayloadTooLarge
from bastion.packaging.form import receive_form


def encode(fields: list[tuple[str, str]], content: bytes) -> tuple[str, bytes]:
    request = httpx.Request(
        "POST",
        "http://x/",
        data=dict(_group(fields)),
        files={"content": ("demo-1.0.tar.gz", content)},
    )
    return request.headers["content-type"], request.read()


def _group(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in fields:
        grouped.setdefault(key, []).append(value)
    return grouped


async def chunks(body: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_fields_are_lists_and_the_file_is_hashed_on_disk(tmp_path: Path) -> None:
    content = bytes(range(256)) * 50
    ctype, body = encode(
        [("name", "demo"), ("classifiers", "A :: B"), ("classifiers", "C :: D")], content
    )
    async with receive_form(
        ctype,
        chunks(body),
        max_file_size=100_000,
        max_fields_size=10_000,
        max_parts=100,
        tmp_dir=tmp_path,
    ) as form:
        assert form.get("name") == "demo"
        assert form.getlist("classifiers") == ["A :: B", "C :: D"]
        assert form.file is not None
        assert form.file.filename == "demo-1.0.tar.gz"
        assert form.file.size == len(content)
        assert form.file.sha256 == hashlib.sha256(content).hexdigest()
        assert form.file.blake2_256 == hashlib.blake2b(content, digest_size=32).hexdigest()
        assert form.file.md5 == hashlib.md5(content).hexdigest()
        assert form.file.path.read_bytes() == content
        path = form.file.path
    assert not path.exists()


async def test_file_over_the_limit_stops_with_413_and_leaves_no_temp_file(tmp_path: Path) -> None:
    ctype, body = encode([("name", "demo")], b"x" * 5000)
    with pytest.raises(PayloadTooLarge, match="File too large"):
        async with receive_form(
            ctype,
            chunks(body, 512),
            max_file_size=1000,
            max_fields_size=10_000,
            max_parts=100,
            tmp_dir=tmp_path,
        ):
            pass
    assert list(tmp_path.iterdir()) == []


async def test_declared_length_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""

    with pytest.raises(PayloadTooLarge):
        async with receive_form(
            "multipart/form-data; boundary=x",
            never(),
            max_file_size=10,
            max_fields_size=10,
            max_parts=100,
            tmp_dir=tmp_path,
            content_length="10000000",
        ):
            pass


async def test_fields_over_the_cap_are_refused(tmp_path: Path) -> None:
    ctype, body = encode([("description", "x" * 2000)], b"x")
    with pytest.raises(BadRequest, match="The form fields are too large"):
        async with receive_form(
            ctype,
            chunks(body, 100),
            max_file_size=1000,
            max_fields_size=1000,
            max_parts=100,
            tmp_dir=tmp_path,
        ):
            pass
    assert list(tmp_path.iterdir()) == []


async def test_too_many_parts_are_refused_with_the_configured_limit(tmp_path: Path) -> None:
    ctype, body = encode([("classifiers", str(i)) for i in range(5)], b"x")
    with pytest.raises(BadRequest, match=r"Too many form fields \(the limit is 3\)"):
        async with receive_form(
            ctype,
            chunks(body, 100),
            max_file_size=1000,
            max_fields_size=10_000,
            max_parts=3,
            tmp_dir=tmp_path,
        ):
            pass
    assert list(tmp_path.iterdir()) == []


async def test_truncated_body_is_refused(tmp_path: Path) -> None:
    ctype, body = encode([("name", "demo")], b"x" * 100)
    with pytest.raises(BadRequest, match="ended early"):
        async with receive_form(
            ctype,
            chunks(body[:-40]),
            max_file_size=1000,
            max_fields_size=1000,
            max_parts=100,
            tmp_dir=tmp_path,
        ):
            pass
    assert list(tmp_path.iterdir()) == []
