"""Read an archive's members in memory, bounded: never extracted, never executed.

The format is sniffed from the bytes (a ``.tar.gz`` that is really a zip is read as a zip).
Members are read up to ``max_member_size`` bytes each, ``max_total_size`` decompressed bytes
and ``max_members`` members in all, until a deadline; archives inside archives are opened up
to ``max_depth`` levels. Whatever goes over a bound or looks wrong becomes an ``Anomaly``
(reported as a finding); only an archive that cannot be opened at all is an error.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

Stream = BinaryIO | gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile

# Members worth reading: source, start-up hooks, build config, metadata, scripts.
TEXT_SUFFIXES = (
    ".py",
    ".pyw",
    ".pth",
    ".pyi",
    ".cfg",
    ".toml",
    ".txt",
    ".sh",
    ".bat",
    ".cmd",
    ".ps1",
    ".js",
    ".vbs",
    ".hta",
    ".json",
    ".in",
    ".pyx",
)
METADATA_NAMES = ("PKG-INFO", "METADATA")
NESTED_SUFFIXES = (".zip", ".whl", ".egg", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")
BINARY_SUFFIXES = (".exe", ".scr", ".msi", ".dll", ".hta", ".vbs")


class ArchiveError(Exception):
    """The archive cannot be opened at all (not an archive, truncated header)."""


class Budget(Exception):
    """A bound was reached: stop reading, keep what was read."""


@dataclass(frozen=True)
class Limits:
    max_members: int = 20_000
    max_member_size: int = 4 * 1024 * 1024
    max_total_size: int = 256 * 1024 * 1024
    max_seconds: float = 20.0
    max_depth: int = 2
    max_ratio: int = 200
    max_parse_size: int = 1024 * 1024  # larger Python files get the text rules only


@dataclass(frozen=True)
class Member:
    path: str  # inside the outermost archive; nested archives as "outer.zip!inner/path"
    data: bytes
    truncated: bool = False


@dataclass(frozen=True)
class Anomaly:
    path: str
    message: str


@dataclass
class Contents:
    kind: str
    members: list[Member] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # every member name seen (for layout checks)


def sniff(data: bytes) -> str | None:
    """``zip``, ``tar.gz``, ``tar.bz2``, ``tar.xz``, ``tar`` from magic bytes, else None."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if data[:2] == b"\x1f\x8b":
        return "tar.gz"
    if data[:3] == b"BZh":
        return "tar.bz2"
    if data[:6] == b"\xfd7zXZ\x00":
        return "tar.xz"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    return None


def wanted(name: str) -> bool:
    """Is this member worth reading (source, hooks, metadata, scripts, nested archives)?"""
    lower = name.lower()
    base = lower.rsplit("/", 1)[-1]
    if base in ("pkg-info", "metadata", "entry_points.txt", "record"):
        return True
    if base.endswith(".txt") and base not in ("entry_points.txt", "top_level.txt"):
        return False  # READMEs, licences, requirement lists: not code
    return (
        lower.endswith(TEXT_SUFFIXES)
        or lower.endswith(NESTED_SUFFIXES)
        or lower.endswith(BINARY_SUFFIXES)
    )


class _Bounded(io.RawIOBase):
    """A read-only stream that stops decompression past a byte budget or a deadline."""

    def __init__(self, inner: Stream, budget: int, deadline: float) -> None:
        self.inner = inner
        self.left = budget
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if time.monotonic() > self.deadline:
            raise Budget("time")
        chunk = self.inner.read(min(len(buffer), 1 << 16))
        self.left -= len(chunk)
        if self.left < 0:
            raise Budget("size")
        buffer[: len(chunk)] = chunk
        return len(chunk)


class Reader:
    """Walks one archive (and archives inside it) within shared limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.total = 0
        self.count = 0

    def read(self, data: bytes, filename: str) -> Contents:
        kind = sniff(data)
        if kind is None:
            raise ArchiveError(f"{filename} is not a zip or tar archive")
        contents = Contents(kind=kind)
        claimed = _claimed_kind(filename)
        if claimed and claimed != kind:
            contents.anomalies.append(Anomaly("", f"named .{claimed} but is a {kind} archive"))
        self._walk(data, kind, "", 0, contents)
        return contents

    def _walk(self, data: bytes, kind: str, prefix: str, depth: int, out: Contents) -> None:
        try:
            for name, payload, truncated in self._entries(data, kind, prefix, out):
                path = prefix + name
                lower = name.lower()
                if lower.endswith(NESTED_SUFFIXES) and sniff(payload):
                    if depth >= self.limits.max_depth:
                        out.anomalies.append(Anomaly(path, "archive nested too deep; not opened"))
                    else:
                        out.anomalies.append(Anomaly(path, "archive inside the archive"))
                        self._walk(payload, sniff(payload) or "", path + "!", depth + 1, out)
                    continue
                out.members.append(Member(path, payload, truncated))
        except Budget as exc:
            what = "time" if str(exc) == "time" else "decompressed size"
            out.anomalies.append(
                Anomaly(prefix.rstrip("!"), f"stopped reading: {what} bound reached")
            )
        except (
            tarfile.TarError,
            zipfile.BadZipFile,
            OSError,
            EOFError,
            zlib.error,
            lzma.LZMAError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            if depth == 0 and not out.members and not out.names:
                raise ArchiveError(f"cannot read {kind} archive: {exc}") from None
            out.anomalies.append(Anomaly(prefix.rstrip("!"), f"damaged archive: {exc}"))

    def _count(self, out: Contents, name: str) -> None:
        self.count += 1
        out.names.append(name)
        if self.count > self.limits.max_members:
            out.anomalies.append(Anomaly("", f"more than {self.limits.max_members} members"))
            raise Budget("members")
        if time.monotonic() > self.deadline:
            raise Budget("time")

    def _entries(
        self, data: bytes, kind: str, prefix: str, out: Contents
    ) -> Iterator[tuple[str, bytes, bool]]:
        if kind == "zip":
            yield from self._zip_entries(data, prefix, out)
        else:
            yield from self._tar_entries(data, kind, prefix, out)

    def _zip_entries(
        self, data: bytes, prefix: str, out: Contents
    ) -> Iterator[tuple[str, bytes, bool]]:
        limit = self.limits.max_member_size
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                self._count(out, prefix + info.filename)
                _check_name(info.filename, prefix, out)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    out.anomalies.append(Anomaly(prefix + info.filename, "symbolic link"))
                    continue
                if (
                    info.compress_size
                    and info.file_size / max(1, info.compress_size) > self.limits.max_ratio
                ):
                    out.anomalies.append(
                        Anomaly(prefix + info.filename, "compression ratio of a zip bomb")
                    )
                    continue
                if not wanted(info.filename):
                    continue
                if info.flag_bits & 0x1:
                    out.anomalies.append(Anomaly(prefix + info.filename, "encrypted member"))
                    continue
                with archive.open(info) as stream:
                    payload = stream.read(limit + 1)
                truncated = len(payload) > limit
                if truncated:
                    out.anomalies.append(
                        Anomaly(prefix + info.filename, f"member over {limit} bytes; read in part")
                    )
                    payload = payload[:limit]
                self._spend(len(payload))
                yield info.filename, payload, truncated

    def _tar_entries(
        self, data: bytes, kind: str, prefix: str, out: Contents
    ) -> Iterator[tuple[str, bytes, bool]]:
        limit = self.limits.max_member_size
        raw = _decompressor(kind, data)
        budget = self.limits.max_total_size - self.total
        if kind != "tar":
            budget = min(budget, max(len(data), 1) * self.limits.max_ratio)
        stream = io.BufferedReader(_Bounded(raw, budget, self.deadline), buffer_size=1 << 16)
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for info in archive:
                if info.isdir():
                    continue
                self._count(out, prefix + info.name)
                _check_name(info.name, prefix, out)
                if info.issym() or info.islnk():
                    out.anomalies.append(
                        Anomaly(prefix + info.name, f"link to {info.linkname[:100]}")
                    )
                    continue
                if not info.isfile():
                    out.anomalies.append(
                        Anomaly(prefix + info.name, "special file (device or fifo)")
                    )
                    continue
                if not wanted(info.name):
                    continue
                handle = archive.extractfile(info)
                if handle is None:
                    continue
                payload = handle.read(limit + 1)
                truncated = len(payload) > limit
                if truncated:
                    out.anomalies.append(
                        Anomaly(prefix + info.name, f"member over {limit} bytes; read in part")
                    )
                    payload = payload[:limit]
                self._spend(len(payload))
                yield info.name, payload, truncated

    def _spend(self, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_total_size:
            raise Budget("size")


def _decompressor(kind: str, data: bytes) -> Stream:
    """A stream of the tar inside ``data`` (decompressed lazily, as it is read)."""
    if kind == "tar.gz":
        return gzip.GzipFile(fileobj=io.BytesIO(data))
    if kind == "tar.bz2":
        return bz2.BZ2File(io.BytesIO(data))
    if kind == "tar.xz":
        return lzma.LZMAFile(io.BytesIO(data))
    return io.BytesIO(data)


def _check_name(name: str, prefix: str, out: Contents) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
        out.anomalies.append(Anomaly(prefix + name, "path escapes the archive"))


def _claimed_kind(filename: str) -> str | None:
    lower = filename.lower()
    if lower.endswith((".whl", ".zip", ".egg")):
        return "zip"
    for suffix in ("tar.gz", "tar.bz2", "tar.xz"):
        if lower.endswith("." + suffix):
            return suffix
    if lower.endswith(".tgz"):
        return "tar.gz"
    if lower.endswith(".tar"):
        return "tar"
    return None
