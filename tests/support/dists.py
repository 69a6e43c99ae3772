"""Build small, valid distributions offline: a pure-Python wheel and a buildable sdist.

    wheel = make_wheel(tmp_path, "demo", "1.0", requires_python=">=3.8")
    sdist = make_sdist(tmp_path, "demo", "1.0", extra_metadata={"Classifier": [...]})
    dist = Dist.wheel(tmp_path, "demo", "1.0")  # the same file, with its name and digest

``metadata=`` replaces the whole METADATA/PKG-INFO text (``omit_metadata`` drops it),
``metadata_name=`` only its ``Name:``, ``extra_files=`` adds members. Archives are
deterministic (fixed times and order): the same arguments give the same bytes. The sdist
builds with setuptools (``--no-build-isolation``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
TAR_TIME = 1577836800  # 2020-01-01
MetadataValues = Mapping[str, str | Sequence[str]]


def module_name(name: str) -> str:
    """The importable module a built distribution of ``name`` holds."""
    return canonicalize_name(name).replace("-", "_")


def dist_stem(name: str, version: str) -> str:
    """``<name>-<version>`` with the name as wheel and sdist filenames spell it."""
    return f"{module_name(name)}-{version}"


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{dist_stem(name, version)}-{tag}.whl"


def sdist_filename(name: str, version: str) -> str:
    return f"{dist_stem(name, version)}.tar.gz"


def core_metadata(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: Sequence[str] = (),
    summary: str = "A package for tests",
    extra_metadata: MetadataValues | None = None,
    metadata_version: str = "2.1",
    description: str = "",
) -> str:
    """METADATA / PKG-INFO text; list values in ``extra_metadata`` repeat the header."""
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
    ]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {req}" for req in requires_dist)
    for key, value in (extra_metadata or {}).items():
        values = [value] if isinstance(value, str) else list(value)
        lines.extend(f"{key}: {v}" for v in values)
    text = "\n".join(lines) + "\n"
    return text + ("\n" + description if description else "")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: Sequence[str] = (),
    extra_metadata: MetadataValues | None = None,
    metadata: str | None = None,
    metadata_name: str | None = None,
    omit_metadata: bool = False,
    extra_files: Mapping[str, bytes] | None = None,
    filename: str | None = None,
) -> Path:
    """A ``py3-none-any`` wheel with one module, METADATA, WHEEL and RECORD."""
    stem = dist_stem(name, version)
    module = module_name(name)
    dist_info = f"{stem}.dist-info"
    members: dict[str, bytes] = {f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode()}
    if not omit_metadata:
        text = (
            metadata
            if metadata is not None
            else core_metadata(
                metadata_name or name,
                version,
                requires_python=requires_python,
                requires_dist=requires_dist,
                extra_metadata=extra_metadata,
            )
        )
        members[f"{dist_info}/METADATA"] = text.encode()
    members[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: bastion-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    members[f"{dist_info}/top_level.txt"] = f"{module}\n".encode()
    members.update(extra_files or {})
    record = [_record_line(path, data) for path, data in members.items()]
    members[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (filename or wheel_filename(name, version))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in members.items():
            info = zipfile.ZipInfo(arcname, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def tar_add(archive: tarfile.TarFile, arcname: str, data: bytes) -> None:
    """Add a regular file with fixed owner and time."""
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mtime = TAR_TIME
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def _setup_cfg(
    name: str, version: str, module: str, requires_python: str | None, requires_dist: Sequence[str]
) -> bytes:
    deps = "".join(f"\n    {req}" for req in requires_dist)
    return (
        f"[metadata]\nname = {name}\nversion = {version}\n"
        "description = A package for tests\n\n"
        f"[options]\npackages = {module}\n"
        + (f"python_requires = {requires_python}\n" if requires_python else "")
        + (f"install_requires ={deps}\n" if deps else "")
    ).encode()


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: Sequence[str] = (),
    extra_metadata: MetadataValues | None = None,
    metadata: str | None = None,
    omit_metadata: bool = False,
    extra_files: Mapping[str, bytes] | None = None,
    filename: str | None = None,
) -> Path:
    """A PEP 625 ``.tar.gz`` sdist that setuptools builds: ``<stem>/PKG-INFO``,
    ``pyproject.toml``, ``setup.cfg``, ``setup.py`` and one module."""
    stem = dist_stem(name, version)
    module = module_name(name)
    members: dict[str, bytes] = {}
    if not omit_metadata:
        text = (
            metadata
            if metadata is not None
            else core_metadata(
                name,
                version,
                requires_python=requires_python,
                requires_dist=requires_dist,
                extra_metadata=extra_metadata,
            )
        )
        members[f"{stem}/PKG-INFO"] = text.encode()
    members[f"{stem}/pyproject.toml"] = (
        b'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    members[f"{stem}/setup.cfg"] = _setup_cfg(name, version, module, requires_python, requires_dist)
    members[f"{stem}/setup.py"] = b"from setuptools import setup\n\nsetup()\n"
    members[f"{stem}/{module}/__init__.py"] = f'__version__ = "{version}"\n'.encode()
    members.update(extra_files or {})
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (filename or sdist_filename(name, version))
    with (
        gzip.GzipFile(path, "wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        for arcname, data in members.items():
            tar_add(tf, arcname, data)
    return path


@dataclass(frozen=True)
class Dist:
    """A built file and what a test checks of it (its name, digest, module)."""

    path: Path
    module: str

    @classmethod
    def wheel(cls, directory: Path, name: str, version: str, **kw: Any) -> Dist:
        return cls(make_wheel(directory, name, version, **kw), module_name(name))

    @classmethod
    def sdist(cls, directory: Path, name: str, version: str, **kw: Any) -> Dist:
        return cls(make_sdist(directory, name, version, **kw), module_name(name))

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def metadata(self) -> str:
        """The core metadata inside: the wheel's METADATA or the sdist's PKG-INFO."""
        if self.path.name.endswith(".whl"):
            with zipfile.ZipFile(self.path) as zf:
                name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
                return zf.read(name).decode()
        with tarfile.open(self.path) as tf:
            member = next(
                m
                for m in tf.getmembers()
                if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
            )
            data = tf.extractfile(member)
            assert data is not None
            return data.read().decode()
