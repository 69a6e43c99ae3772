"""Stream the upload's multipart body: the file to a temp file while hashing, fields capped.

The ``content`` part never sits whole in memory: each chunk is hashed (sha256,
blake2b-256, md5) and written to a temp file under the data dir, and the parse stops
with 413 as soon as the file passes the configured size. Other fields are kept as
lists (``classifiers`` and ``requires_dist`` repeat) with a cap on their total size.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from bastion.errors import BadRequest, PayloadTooLarge

FILE_FIELD = "content"
PART_PATTERN = "upload-*.part"  # the temp file of an upload being received
PARSE_BATCH = 1024 * 1024  # hand the parser ~1 MB at a time, in a worker thread
MB = 1024 * 1024
FORM_OVERHEAD = 256 * 1024  # multipart boundaries and part headers, beyond the field cap


@dataclass(frozen=True)
class UploadedFile:
    """The ``content`` part, on local disk, with what we computed while receiving it."""

    filename: str
    path: Path
    size: int
    sha256: str
    blake2_256: str
    md5: str


@dataclass
class UploadForm:
    """Every non-file field as a list of values, and the uploaded file."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    file: UploadedFile | None = None

    def get(self, name: str) -> str | None:
        """The first value of ``name``, or None."""
        values = self.fields.get(name)
        return values[0] if values else None

    def getlist(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def require(self, name: str) -> str:
        """The value of a required field; 400 naming it if missing or empty."""
        value = self.get(name)
        if value is None or not value.strip():
            raise BadRequest(f"Missing required field '{name}'.")
        return value.strip()


def file_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"File too large. The limit for an upload is {limit / MB:g} MB ({limit} bytes)."
    )


class _Collector:
    """The parser's callbacks: routes each part to a field buffer or the temp file."""

    def __init__(
        self, *, max_file_size: int, max_fields_size: int, max_parts: int, tmp_dir: Path
    ) -> None:
        self.max_file_size = max_file_size
        self.max_fields_size = max_fields_size
        self.max_parts = max_parts
        self.tmp_dir = tmp_dir
        self.form = UploadForm()
        self.tmp_path: Path | None = None
        self.ended = False
        self._fields_size = 0
        self._parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name: str | None = None
        self._buffer: bytearray | None = None
        self._out: IO[bytes] | None = None
        self._filename = ""
        self._size = 0
        self._hashes: list[Any] = []

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > self.max_parts:
            raise BadRequest(
                f"Too many form fields (the limit is {self.max_parts}): send one file per "
                "upload, with each metadata field once (repeat only classifiers and the like)."
            )
        self._headers = {}
        self._name = None
        self._buffer = None

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        key = bytes(self._header_field).decode("latin-1").strip().lower()
        self._headers[key] = bytes(self._header_value).decode("latin-1").strip()
        self._fields_size += len(self._header_field) + len(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _disposition, options = parse_options_header(self._headers.get("content-disposition"))
        if b"name" not in options:
            raise BadRequest("A form part has no name in its Content-Disposition header.")
        self._name = options[b"name"].decode("utf-8", "replace")
        if self._name == FILE_FIELD and b"filename" in options:
            self._start_file(options[b"filename"].decode("utf-8", "replace"))
        else:
            self._buffer = bytearray()

    def _start_file(self, filename: str) -> None:
        if self.tmp_path is not None:
            raise BadRequest(f"Send exactly one '{FILE_FIELD}' file per upload.")
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        prefix, suffix = PART_PATTERN.split("*")
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix=prefix, suffix=suffix)
        self.tmp_path = Path(tmp)
        self._out = os.fdopen(fd, "wb")
        self._filename = filename
        self._hashes = [
            hashlib.sha256(),
            hashlib.blake2b(digest_size=32),
            hashlib.md5(usedforsecurity=False),
        ]

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._out is not None:
            self._size += len(chunk)
            if self._size > self.max_file_size:
                raise file_too_large(self.max_file_size)
            self._out.write(chunk)
            for h in self._hashes:
                h.update(chunk)
        elif self._buffer is not None:
            self._fields_size += len(chunk)
            if self._fields_size > self.max_fields_size:
                raise BadRequest(
                    f"The form fields are too large (the limit is {self.max_fields_size} "
                    "bytes): shorten the long description or other metadata."
                )
            self._buffer += chunk

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            assert self.tmp_path is not None
            sha256, blake2, md5 = (h.hexdigest() for h in self._hashes)
            self.form.file = UploadedFile(
                self._filename, self.tmp_path, self._size, sha256, blake2, md5
            )
        elif self._buffer is not None and self._name is not None:
            try:
                value = self._buffer.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(f"Field '{self._name}' is not valid UTF-8.") from None
            self.form.fields.setdefault(self._name, []).append(value)
        self._buffer = None

    def _end(self) -> None:
        self.ended = True

    def close(self) -> None:
        """Close and delete the temp file; safe to call more than once."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.tmp_path is not None:
            with suppress(FileNotFoundError):
                self.tmp_path.unlink()


def _boundary(content_type: str | None) -> bytes:
    ctype, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise BadRequest("Expected a multipart/form-data request body with a boundary.")
    return boundary


@asynccontextmanager
async def receive_form(
    content_type: str | None,
    body: AsyncIterable[bytes],
    *,
    max_file_size: int,
    max_fields_size: int,
    max_parts: int,
    tmp_dir: Path,
    content_length: str | None = None,
) -> AsyncIterator[UploadForm]:
    """Parse the body into an :class:`UploadForm`; the temp file is deleted on exit.

    A declared ``Content-Length`` that cannot fit under the limits is refused (413)
    before a byte is read.
    """
    budget = max_file_size + max_fields_size + FORM_OVERHEAD
    if content_length and content_length.isdigit() and int(content_length) > budget:
        raise file_too_large(max_file_size)
    collector = _Collector(
        max_file_size=max_file_size,
        max_fields_size=max_fields_size,
        max_parts=max_parts,
        tmp_dir=tmp_dir,
    )
    try:
        parser = MultipartParser(_boundary(content_type), collector.callbacks())  # type: ignore[arg-type]
        try:
            pending = bytearray()
            async for chunk in body:
                pending += chunk
                if len(pending) >= PARSE_BATCH:
                    await anyio.to_thread.run_sync(parser.write, bytes(pending))
                    pending.clear()
            if pending:
                await anyio.to_thread.run_sync(parser.write, bytes(pending))
            parser.finalize()
        except (MultipartParseError, FormParserError) as exc:
            raise BadRequest(f"Malformed multipart body: {exc}") from None
        if not collector.ended:
            raise BadRequest("The multipart body ended early; the upload is incomplete.")
        yield collector.form
    finally:
        collector.close()


@dataclass(frozen=True)
class UploadFields:
    """The checked fields of a ``file_upload`` request."""

    name: str
    version: str
    filetype: str
    pyversion: str | None  # optional for sdists (flit sends none); see check_pyversion
    metadata_version: str
    digests: dict[str, str]
    file: UploadedFile


DIGEST_FIELDS = {"md5_digest": "md5", "sha256_digest": "sha256", "blake2_256_digest": "blake2_256"}
REQUIRED_FIELDS = ("name", "version", "filetype", "metadata_version")
DIGEST_MISMATCH = "The digest supplied does not match a digest calculated from the uploaded file."


def read_upload_fields(form: UploadForm) -> UploadFields:
    """Check the action, protocol and required fields; 400 naming the first problem."""
    action = form.get(":action")
    if action != "file_upload":
        raise BadRequest(f"Unknown action: '{action or ''}'. Only 'file_upload' is supported.")
    protocol = form.get("protocol_version")
    if protocol != "1":
        raise BadRequest(f"Unknown protocol version: '{protocol or ''}'. Use protocol_version 1.")
    values = {name: form.require(name) for name in REQUIRED_FIELDS}
    pyversion = (form.get("pyversion") or "").strip() or None
    if form.file is None or not form.file.filename:
        raise BadRequest(f"Missing required field '{FILE_FIELD}': send the file to upload.")
    digests = {
        field_name: value.strip().lower()
        for field_name in DIGEST_FIELDS
        if (value := form.get(field_name)) and value.strip()
    }
    return UploadFields(file=form.file, digests=digests, pyversion=pyversion, **values)


def check_digests(fields: UploadFields) -> None:
    """At least one digest, and every digest given matches the received bytes."""
    if not fields.digests:
        raise BadRequest("Include at least one message digest (sha256_digest is best).")
    for field_name, given in fields.digests.items():
        computed = getattr(fields.file, DIGEST_FIELDS[field_name])
        if not hmac.compare_digest(given.encode(), computed.encode()):
            raise BadRequest(DIGEST_MISMATCH)


def stale_parts(tmp_dir: Path, before: float) -> list[Path]:
    """Temp files of uploads last written before ``before`` (a POSIX time): left by a
    crash, since a finished or refused upload deletes its own."""
    if not tmp_dir.is_dir():
        return []
    stale = []
    for path in tmp_dir.glob(PART_PATTERN):
        with suppress(FileNotFoundError):
            if path.stat().st_mtime < before:
                stale.append(path)
    return stale
