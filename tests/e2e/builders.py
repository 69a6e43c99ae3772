"""Build small but fully valid distributions offline: a pure-Python wheel and an sdist.

The archives are deterministic (fixed timestamps and order), so the same arguments
give the same bytes. The sdist builds with setuptools (``--no-build-isolation``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)
TAR_EPOCH = 1577836800  # 2020-01-01


@dataclass
class Dist:
    """What a builder wrote: the file and what the test needs to know about it."""

    path: Path
    name: str
    version: str
    module: str
    metadata: str = field(repr=False)

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def module_name(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def core_metadata(
    name: str,
    version: str,
    *,
    summary: str = "A test package.",
    requires_python: str | None = None,
    requires_dist: tuple[str, ...] = (),
    description: str = "",
) -> str:
    """Core metadata 2.1 text (what METADATA and PKG-INFO hold)."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        "Author-email: Test Author <author@example.org>",
        "License: MIT",
    ]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    if description:
        lines.append("Description-Content-Type: text/markdown")
        return "\n".join(lines) + "\n\n" + description + "\n"
    return "\n".join(lines) + "\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _zip_write(archive: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def make_wheel(
    out_dir: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: tuple[str, ...] = (),
    filename: str | None = None,
    metadata_name: str | None = None,
) -> Dist:
    """A ``py3-none-any`` wheel with one module printing its version.

    ``filename`` overrides the file's name and ``metadata_name`` the ``Name:`` inside,
    to build wheels that an index must refuse.
    """
    module = module_name(name)
    dist_name = module  # PEP 427 / binary distribution format: escaped, normalised
    dist_info = f"{dist_name}-{version}.dist-info"
    metadata = core_metadata(
        metadata_name or name, version,
        requires_python=requires_python, requires_dist=requires_dist,
    )
    files: dict[str, bytes] = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: bastion-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        f"{dist_info}/top_level.txt": f"{module}\n".encode(),
    }
    record_lines = [f"{arc},{_record_hash(data)},{len(data)}" for arc, data in files.items()]
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (filename or f"{dist_name}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as archive:
        for arcname, data in files.items():
            _zip_write(archive, arcname, data)
    return Dist(path=path, name=name, version=version, module=module, metadata=metadata)


def _tar_add(archive: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mtime = TAR_EPOCH
    info.mode = 0o644
    info.uname = info.gname = ""
    archive.addfile(info, io.BytesIO(data))


def make_sdist(
    out_dir: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: tuple[str, ...] = (),
) -> Dist:
    """A PEP 625 ``.tar.gz`` sdist that setuptools can build into a wheel."""
    module = module_name(name)
    base = f"{module}-{version}"
    metadata = core_metadata(
        name, version, requires_python=requires_python, requires_dist=requires_dist,
    )
    deps = "".join(f"\n    {req}" for req in requires_dist)
    setup_cfg = (
        "[metadata]\n"
        f"name = {name}\n"
        f"version = {version}\n"
        "description = A test package.\n"
        "author_email = Test Author <author@example.org>\n"
        "license = MIT\n\n"
        "[options]\n"
        f"packages = {module}\n"
        + (f"python_requires = {requires_python}\n" if requires_python else "")
        + (f"install_requires ={deps}\n" if deps else "")
    )
    files: dict[str, bytes] = {
        "PKG-INFO": metadata.encode(),
        "pyproject.toml": (
            b'[build-system]\nrequires = ["setuptools>=61"]\n'
            b'build-backend = "setuptools.build_meta"\n'
        ),
        "setup.cfg": setup_cfg.encode(),
        "setup.py": b"from setuptools import setup\n\nsetup()\n",
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{base}.tar.gz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for arcname, data in files.items():
            _tar_add(archive, f"{base}/{arcname}", data)
    with path.open("wb") as out, gzip.GzipFile(
        filename="", mode="wb", fileobj=out, mtime=TAR_EPOCH
    ) as gz:
        gz.write(raw.getvalue())
    return Dist(path=path, name=name, version=version, module=module, metadata=metadata)
