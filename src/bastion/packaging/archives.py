"""Open a wheel (zip) or an sdist (.tar.gz) safely and find its core metadata.

Nothing is extracted to disk. Every member name is checked (no absolute paths, no
``..``), links may not point out of the archive (resolved as paths through every link
seen before, so a chain of links cannot climb out either), and the member count, the
total uncompressed size and the compression ratio are capped; reads are bounded. A
``.tar.gz`` is read to its end so the gzip trailer (CRC and length) is verified.
"""

from __future__ import annotations

import gzip
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bastion.config import Settings
from bastion.errors import BadRequest

MAX_LINK_TARGET = 4096
TRAILER_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeArchive(BadRequest):
    """The archive cannot be opened safely or is not a valid distribution."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid distribution file: {reason}")


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int
    max_uncompressed_size: int
    max_compression_ratio: int
    max_metadata_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveLimits:
        return cls(
            max_members=settings.max_archive_members,
            max_uncompressed_size=settings.max_uncompressed_size,
            max_compression_ratio=settings.max_compression_ratio,
            max_metadata_size=settings.max_metadata_size,
        )


def check_member_name(name: str) -> str:
    """The member's normalised path; refuses absolute paths and ``..``."""
    if not name or "\x00" in name:
        raise UnsafeArchive("an archive member has an empty or invalid name.")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise UnsafeArchive(f"the archive member '{name}' has an absolute path.")
    if ".." in re.split(r"[/\\]", name):
        raise UnsafeArchive(f"the archive member '{name}' has a path outside the archive ('..').")
    return posixpath.normpath(name)


MAX_LINK_HOPS = 40  # as the kernel's ELOOP limit


class Links:
    """The symbolic links seen so far; resolves paths through them as a file system would,
    so ``up -> ..``, ``up2 -> up/..``, ``up2/evil`` is caught at the second link."""

    def __init__(self) -> None:
        self.targets: dict[str, str] = {}

    def resolve(self, member: str, path: str, hops: int = 0) -> str:
        """``path`` (relative to the archive root) with every link in it followed; refuses
        a path that leaves the archive or loops."""
        resolved: list[str] = []
        for part in re.split(r"[/\\]", path):
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    raise UnsafeArchive(f"the link '{member}' points outside the archive.")
                resolved.pop()
                continue
            resolved.append(part)
            target = self.targets.get("/".join(resolved))
            if target is not None:
                if hops >= MAX_LINK_HOPS:
                    raise UnsafeArchive(f"the link '{member}' loops.")
                base = "/".join(resolved[:-1])
                followed = self.resolve(member, posixpath.join(base, target), hops + 1)
                resolved = followed.split("/") if followed else []
        return "/".join(resolved)

    def check_member(self, name: str) -> None:
        """A member whose parent directories are links must still land inside."""
        self.resolve(name, name)

    def add(self, member: str, target: str) -> None:
        """Record the link ``member -> target`` after checking it resolves inside."""
        check_link_target(member, target)
        self.resolve(member, posixpath.join(posixpath.dirname(member), target))
        self.targets[posixpath.normpath(member)] = target


def check_link_target(member: str, target: str) -> None:
    """A symbolic link must resolve inside the archive."""
    if not target or target.startswith(("/", "\\")) or _DRIVE.match(target):
        raise UnsafeArchive(f"the link '{member}' points outside the archive.")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchive(f"the link '{member}' points outside the archive.")


def _check_totals(
    limits: ArchiveLimits, members: int, uncompressed: int, archive_size: int
) -> None:
    if members > limits.max_members:
        raise UnsafeArchive(f"too many members (the limit is {limits.max_members}).")
    if uncompressed > limits.max_uncompressed_size:
        raise UnsafeArchive(f"it unpacks to more than {limits.max_uncompressed_size} bytes.")
    if uncompressed > limits.max_compression_ratio * max(archive_size, 1):
        raise UnsafeArchive(
            f"its compression ratio is above {limits.max_compression_ratio}:1 "
            "(a decompression bomb?)."
        )


def _read_bounded(stream: IO[bytes], limit: int, what: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UnsafeArchive(f"{what} is larger than {limit} bytes.")
    return data


def wheel_metadata_path(filename: str) -> str:
    name, version = filename.split("-")[:2]
    return f"{name}-{version}.dist-info/METADATA"


def sdist_metadata_path(filename: str) -> str:
    return f"{filename.removesuffix('.tar.gz')}/PKG-INFO"


@dataclass(frozen=True)
class DistContents:
    """What the pipeline needs from an archive: the core metadata and the member names."""

    metadata: bytes
    members: frozenset[str]


def read_wheel_metadata(path: Path, filename: str, limits: ArchiveLimits) -> bytes:
    """The wheel's ``<name>-<ver>.dist-info/METADATA`` after checking every member."""
    return read_wheel(path, filename, limits).metadata


def read_sdist_metadata(path: Path, filename: str, limits: ArchiveLimits) -> bytes:
    """The sdist's ``<name>-<ver>/PKG-INFO`` after checking every member."""
    return read_sdist(path, filename, limits).metadata


def read_wheel(path: Path, filename: str, limits: ArchiveLimits) -> DistContents:
    """Check every member of a wheel; its ``<name>-<ver>.dist-info/METADATA`` and names."""
    wanted = wheel_metadata_path(filename)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_totals(limits, len(infos), 0, 1)
            total = 0
            found: zipfile.ZipInfo | None = None
            links = Links()
            for info in infos:
                name = check_member_name(info.filename)
                links.check_member(name)
                total += info.file_size
                if info.flag_bits & 0x1:
                    raise UnsafeArchive(f"the archive member '{name}' is encrypted.")
                if stat.S_ISLNK(info.external_attr >> 16):
                    with zf.open(info) as link:
                        target = _read_bounded(link, MAX_LINK_TARGET, f"the link '{name}'")
                    links.add(name, target.decode("utf-8", "replace"))
                if info.filename == wanted:
                    if found is not None:
                        raise UnsafeArchive(f"'{wanted}' appears more than once.")
                    found = info
            _check_totals(limits, len(infos), total, path.stat().st_size)
            if found is None:
                raise UnsafeArchive(f"the wheel has no '{wanted}'.")
            if found.file_size > limits.max_metadata_size:
                raise UnsafeArchive(f"'{wanted}' is larger than {limits.max_metadata_size} bytes.")
            with zf.open(found) as member:
                metadata = _read_bounded(member, limits.max_metadata_size, f"'{wanted}'")
            return DistContents(metadata, frozenset(posixpath.normpath(i.filename) for i in infos))
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        RuntimeError,
        NotImplementedError,
        ValueError,
    ) as exc:
        raise UnsafeArchive(f"the wheel is not a valid zip file ({exc}).") from None


class _BoundedReader:
    """A decompressed stream that stops once it passes the size or ratio limit."""

    def __init__(
        self, inner: IO[bytes] | gzip.GzipFile, limits: ArchiveLimits, archive_size: int
    ) -> None:
        self.inner = inner
        self.limits = limits
        self.archive_size = archive_size
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self.limits.max_uncompressed_size + 1
        data = self.inner.read(size)
        self.count += len(data)
        _check_totals(self.limits, 0, self.count, self.archive_size)
        return data


def read_sdist(path: Path, filename: str, limits: ArchiveLimits) -> DistContents:
    """Check every member of an sdist, streamed; its ``<name>-<ver>/PKG-INFO`` and names."""
    wanted = sdist_metadata_path(filename)
    found: bytes | None = None
    members = 0
    names: set[str] = set()
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            reader = _BoundedReader(gz, limits, path.stat().st_size)
            links = Links()
            with tarfile.open(fileobj=reader, mode="r|") as tf:  # type: ignore[call-overload]
                for member in tf:
                    members += 1
                    _check_totals(limits, members, 0, 1)
                    name = check_member_name(member.name)
                    links.check_member(name)
                    names.add(name)
                    if member.issym():
                        links.add(name, member.linkname)
                    elif member.islnk():
                        links.check_member(check_member_name(member.linkname))
                    elif not (member.isreg() or member.isdir()):
                        raise UnsafeArchive(
                            f"the archive member '{name}' is not a file, directory or link."
                        )
                    if name == wanted and member.isreg():
                        if found is not None:
                            raise UnsafeArchive(f"'{wanted}' appears more than once.")
                        if member.size > limits.max_metadata_size:
                            raise UnsafeArchive(
                                f"'{wanted}' is larger than {limits.max_metadata_size} bytes."
                            )
                        stream = tf.extractfile(member)
                        assert stream is not None
                        found = _read_bounded(stream, limits.max_metadata_size, f"'{wanted}'")
            # tarfile stops at the end-of-archive blocks; gzip checks its trailer (CRC,
            # length) only at the end of the stream, so read on to it.
            while reader.read(TRAILER_CHUNK):
                pass
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise UnsafeArchive(f"the sdist is not a valid .tar.gz file ({exc}).") from None
    if found is None:
        raise UnsafeArchive(f"the sdist has no '{wanted}'.")
    return DistContents(found, frozenset(names))


def read_dist(path: Path, filename: str, filetype: str, limits: ArchiveLimits) -> DistContents:
    """The core metadata and member names of a wheel or sdist (blocking: run it in a thread)."""
    if filetype == "bdist_wheel":
        return read_wheel(path, filename, limits)
    return read_sdist(path, filename, limits)


def read_dist_metadata(path: Path, filename: str, filetype: str, limits: ArchiveLimits) -> bytes:
    """The core-metadata bytes of a wheel or sdist (blocking: run it in a thread)."""
    return read_dist(path, filename, filetype, limits).metadata
