"""Write minimal, valid distributions for tests: a wheel (METADATA/WHEEL/RECORD) and an sdist.

    wheel = make_wheel(tmp_path, "demo", "1.0", requires_python=">=3.8")
    sdist = make_sdist(tmp_path, "demo", "1.0", extra_metadata={"Classifier": [...]})

``metadata=`` replaces the whole METADATA/PKG-INFO text (``None`` in ``omit`` drops it),
``extra_files=`` adds members; archives are deterministic (fixed times, sorted order).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
TAR_TIME = 1577836800
MetadataValues = Mapping[str, str | Sequence[str]]


def dist_stem(name: str, version: str) -> str:
    """``<name>-<version>`` with the name as wheel and sdist filenames spell it."""
    return f"{canonicalize_name(name).replace('-', '_')}-{version}"


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{dist_stem(name, version)}-{tag}.whl"


def sdist_filename(name: str, version: str) -> str:
    return f"{dist_stem(name, version)}.tar.gz"


def core_metadata(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    summary: str = "A package for tests",
    extra_metadata: MetadataValues | None = None,
    metadata_version: str = "2.1",
    description: str = "",
) -> str:
    """METADATA / PKG-INFO text; list values in ``extra_metadata`` repeat the header."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}",
             f"Summary: {summary}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
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
    extra_metadata: MetadataValues | None = None,
    metadata: str | None = None,
    omit_metadata: bool = False,
    extra_files: Mapping[str, bytes] | None = None,
    filename: str | None = None,
) -> Path:
    """A pure-Python wheel with one module, METADATA, WHEEL and RECORD."""
    stem = dist_stem(name, version)
    module = canonicalize_name(name).replace("-", "_")
    dist_info = f"{stem}.dist-info"
    members: dict[str, bytes] = {f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode()}
    if not omit_metadata:
        text = metadata if metadata is not None else core_metadata(
            name, version, requires_python=requires_python, extra_metadata=extra_metadata
        )
        members[f"{dist_info}/METADATA"] = text.encode()
    members[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: bastion-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    members.update(extra_files or {})
    record = [_record_line(path, data) for path, data in members.items()]
    members[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
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


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    extra_metadata: MetadataValues | None = None,
    metadata: str | None = None,
    omit_metadata: bool = False,
    extra_files: Mapping[str, bytes] | None = None,
    filename: str | None = None,
) -> Path:
    """A ``.tar.gz`` sdist: ``<stem>/PKG-INFO``, ``pyproject.toml`` and one module."""
    stem = dist_stem(name, version)
    module = canonicalize_name(name).replace("-", "_")
    members: dict[str, bytes] = {}
    if not omit_metadata:
        text = metadata if metadata is not None else core_metadata(
            name, version, requires_python=requires_python, extra_metadata=extra_metadata
        )
        members[f"{stem}/PKG-INFO"] = text.encode()
    members[f"{stem}/pyproject.toml"] = (
        f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode()
    )
    members[f"{stem}/{module}/__init__.py"] = f'__version__ = "{version}"\n'.encode()
    members.update(extra_files or {})
    path = directory / (filename or sdist_filename(name, version))
    with (
        gzip.GzipFile(path, "wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        for arcname, data in members.items():
            tar_add(tf, arcname, data)
    return path
