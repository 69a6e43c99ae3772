"""A FileStore on S3-compatible object storage (boto3), for the scaled-out mode.

Object PUTs are atomic: readers see the whole object or none, so no temp-and-rename.
boto3 is blocking; every call runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from bastion.storage.interface import StoredBlob

if TYPE_CHECKING:
    from bastion.config import Settings

CHUNK = 256 * 1024


class S3FileStore:
    def __init__(self, settings: Settings, client: Any = None) -> None:
        if not settings.s3_bucket:
            raise ValueError("BASTION_S3_BUCKET must be set when BASTION_STORAGE_BACKEND=s3")
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url or None)
        self.client = client
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix.strip("/")

    def _key(self, path: str) -> str:
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"invalid store path: {path!r}")
        return f"{self.prefix}/{path}" if self.prefix else path

    async def put(self, path: str, source: Path) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.upload_file(str(source), self.bucket, self._key(path))
        )

    async def put_bytes(self, path: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data)
        )

    async def exists(self, path: str) -> bool:
        return await self.modified(path) is not None

    async def modified(self, path: str) -> datetime | None:
        from botocore.exceptions import ClientError

        def head() -> datetime | None:
            try:
                answer = self.client.head_object(Bucket=self.bucket, Key=self._key(path))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
            modified: datetime = answer["LastModified"]
            return modified

        return await anyio.to_thread.run_sync(head)

    async def delete(self, path: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(path))
        )

    def _get(self, path: str) -> Any:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(path))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(path) from exc
            raise

    async def read_bytes(self, path: str) -> bytes:
        body = await anyio.to_thread.run_sync(self._get, path)
        try:
            return await anyio.to_thread.run_sync(body.read)
        finally:
            body.close()

    async def stream(self, path: str) -> AsyncIterator[bytes]:
        body = await anyio.to_thread.run_sync(self._get, path)
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    def local_path(self, path: str) -> Path | None:
        return None

    async def iter_paths(self) -> AsyncIterator[str]:
        async for blob in self.iter_blobs():
            yield blob.path

    async def iter_blobs(self) -> AsyncIterator[StoredBlob]:
        paginator = self.client.get_paginator("list_objects_v2")
        kwargs = {"Bucket": self.bucket, **({"Prefix": self.prefix + "/"} if self.prefix else {})}
        pages = await anyio.to_thread.run_sync(lambda: list(paginator.paginate(**kwargs)))
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in pages:
            for item in page.get("Contents", []):
                yield StoredBlob(item["Key"][strip:], item["LastModified"])

    async def iter_temp(self) -> AsyncIterator[StoredBlob]:
        """Nothing: an object PUT is atomic, and an interrupted multipart upload is never
        an object (a bucket lifecycle rule should abort those)."""
        return
        yield
