"""Both FileStore implementations against the same contract: local disk and real S3 over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.config import Settings
from bastion.storage.interface import FileStore, blob_path
from bastion.storage.local import LocalFileStore

SHA = "ab" * 32


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from tests.support.servers import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FileStore:
    if request.param == "local":
        return LocalFileStore(tmp_path / "files")
    import boto3

    from bastion.storage.s3 import S3FileStore

    endpoint = request.getfixturevalue("s3_endpoint")
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    bucket = f"bastion-{tmp_path.name.lower().replace('_', '-')}"[:60]
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    settings = Settings(
        storage_backend="s3", s3_bucket=bucket, s3_endpoint_url=endpoint, s3_prefix="blobs"
    )
    return S3FileStore(settings)


def test_blob_path_is_content_addressed() -> None:
    assert blob_path(SHA, "demo-1.0.tar.gz") == f"ab/ab/{SHA}/demo-1.0.tar.gz"


async def test_put_read_stream_delete(store: FileStore, tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    payload = bytes(range(256)) * 5000
    source.write_bytes(payload)
    path = blob_path(SHA, "demo-1.0-py3-none-any.whl")

    assert not await store.exists(path)
    await store.put(path, source)
    assert await store.exists(path)
    assert await store.read_bytes(path) == payload
    assert b"".join([chunk async for chunk in store.stream(path)]) == payload
    assert [p async for p in store.iter_paths()] == [path]

    await store.delete(path)
    assert not await store.exists(path)
    await store.delete(path)  # deleting twice is not an error


async def test_put_bytes_and_missing(store: FileStore) -> None:
    await store.put_bytes("aa/bb/x/meta.metadata", b"Metadata-Version: 2.1\n")
    assert await store.read_bytes("aa/bb/x/meta.metadata") == b"Metadata-Version: 2.1\n"
    with pytest.raises(FileNotFoundError):
        await store.read_bytes("aa/bb/none/missing.whl")


async def test_paths_cannot_escape(store: FileStore) -> None:
    with pytest.raises(ValueError):
        await store.put_bytes("../outside", b"x")


async def test_local_write_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    await store.put_bytes("a/b/c/f.whl", b"data")
    names = [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert names == ["f.whl"]


async def test_blobs_come_with_their_modified_time(store: FileStore) -> None:
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=5)
    await store.put_bytes("aa/bb/x/demo-1.0.tar.gz", b"x")
    [blob] = [b async for b in store.iter_blobs()]
    assert blob.path == "aa/bb/x/demo-1.0.tar.gz"
    assert before <= blob.modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert await store.modified(blob.path) == blob.modified
    assert await store.modified("aa/bb/none/missing.whl") is None
    assert [b async for b in store.iter_temp()] == []


async def test_local_temp_files_of_an_interrupted_write_are_listed(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    await store.put_bytes("a/b/c/f.whl", b"data")
    (tmp_path / "files" / "a" / "b" / "c" / ".tmp-crashed").write_bytes(b"half")
    assert [b.path async for b in store.iter_temp()] == ["a/b/c/.tmp-crashed"]
    assert [p async for p in store.iter_paths()] == ["a/b/c/f.whl"]
