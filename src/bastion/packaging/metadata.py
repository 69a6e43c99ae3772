"""Core metadata from the archive: parse, validate, compare with the form, shape for storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.utils import canonicalize_name
from packaging.version import Version

from bastion.errors import BadRequest

MAX_NAME_LENGTH = 255  # the width of Project.name

# A field declared under an older Metadata-Version than the one that introduced it
# (setuptools wrote ``License-File`` under 2.1 for years) is tolerated, as installers do,
# except ``License-Expression``: a licence is a legal statement, and PEP 639 gives it
# meaning only from Metadata-Version 2.4 on (PyPI refuses it earlier too).
_TOLERATED = "introduced in metadata version"
_NEVER_TOLERATED = frozenset({"license-expression"})
LICENSE_VERSION = Version("2.4")  # PEP 639: License-Expression, License-File
RELIABLE_VERSION = Version("2.2")  # PEP 643: sdist metadata fields are static unless Dynamic
DEPENDENCY_FIELDS = frozenset({"requires-dist", "requires-python", "provides-extra"})

# Raw (email) field name -> the key PyPI's JSON API ``info`` object uses.
_INFO_KEYS: dict[str, str] = {
    "metadata_version": "metadata_version",
    "author": "author",
    "author_email": "author_email",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "license": "license",
    "license_expression": "license_expression",
    "license_files": "license_files",
    "keywords": "keywords",
    "classifiers": "classifiers",
    "platforms": "platform",
    "home_page": "home_page",
    "download_url": "download_url",
    "project_urls": "project_urls",
    "requires_dist": "requires_dist",
    "provides_extra": "provides_extra",
    "dynamic": "dynamic",
    "supported_platforms": "supported_platform",
    "requires_external": "requires_external",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
}


@dataclass(frozen=True)
class CoreMetadata:
    """The fields a release row keeps, plus everything else as PyPI's JSON ``info`` names it."""

    name: str
    version: str
    requires_python: str | None
    summary: str | None
    description: str | None
    description_content_type: str | None
    info: dict[str, Any] = field(default_factory=dict)


def _errors(data: bytes, raw: RawMetadata, unparsed: dict[str, list[str]]) -> list[str]:
    """What is invalid, as ``Metadata.from_email(validate=True)`` reports it, minus the
    tolerated. The already-parsed ``raw`` is validated; only when some field could not be
    parsed is the email parsed again, so the library words those problems itself."""
    try:
        if unparsed:
            Metadata.from_email(data, validate=True)
        else:
            Metadata.from_raw(raw, validate=True)
    except ExceptionGroup as group:
        return [
            _explain(exc)
            for exc in group.exceptions
            if not (
                isinstance(exc, InvalidMetadata)
                and _TOLERATED in str(exc)
                and exc.field not in _NEVER_TOLERATED
            )
        ]
    return []


def _explain(exc: Exception) -> str:
    if isinstance(exc, InvalidMetadata) and exc.field in _NEVER_TOLERATED:
        return f"{exc} (License-Expression needs Metadata-Version 2.4 or later, PEP 639)"
    return str(exc)


# The width of Release.description_content_type.
MAX_CONTENT_TYPE_LENGTH = 255


def _info(raw: RawMetadata) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for raw_key, info_key in _INFO_KEYS.items():
        value = raw.get(raw_key)
        if value is None:
            continue
        if raw_key == "keywords":
            value = ",".join(value)  # type: ignore[arg-type]
        elif raw_key == "platforms":
            value = ", ".join(value)  # type: ignore[arg-type]
        info[info_key] = value
    return info


def parse_core_metadata(data: bytes) -> CoreMetadata:
    """Parse METADATA / PKG-INFO bytes; 400 listing what is invalid."""
    raw, unparsed = parse_email(data)
    errors = _errors(data, raw, unparsed)
    if errors:
        raise BadRequest("Invalid distribution metadata: " + "; ".join(errors))
    content_type = raw.get("description_content_type")
    if content_type is not None and len(content_type) > MAX_CONTENT_TYPE_LENGTH:
        raise BadRequest(
            "Invalid distribution metadata: Description-Content-Type is too long: use at most "
            f"{MAX_CONTENT_TYPE_LENGTH} characters, e.g. 'text/markdown; charset=UTF-8'."
        )
    if len(raw["name"]) > MAX_NAME_LENGTH:
        raise BadRequest(
            f"Invalid distribution metadata: the Name '{raw['name'][:20]}...' is too long: "
            f"use at most {MAX_NAME_LENGTH} characters."
        )
    return CoreMetadata(
        name=raw["name"],
        version=str(raw["version"]),
        requires_python=raw.get("requires_python"),
        summary=raw.get("summary"),
        description=raw.get("description"),
        description_content_type=raw.get("description_content_type"),
        info=_info(raw),
    )


def check_matches_form(meta: CoreMetadata, *, name: str, version: Version) -> None:
    """The archive's metadata must name the same project and version as the form."""
    if canonicalize_name(meta.name) != canonicalize_name(name):
        raise BadRequest(
            f"The name in the distribution's metadata ('{meta.name}') does not match "
            f"the name in the upload form ('{name}')."
        )
    if Version(meta.version) != version:
        raise BadRequest(
            f"The version in the distribution's metadata ('{meta.version}') does not match "
            f"the version in the upload form ('{version}')."
        )


def metadata_version(meta: CoreMetadata) -> Version:
    return Version(str(meta.info.get("metadata_version", "1.0")))


def check_license_files(
    meta: CoreMetadata, members: frozenset[str], *, filetype: str, root: str
) -> None:
    """PEP 639: from Metadata-Version 2.4 every ``License-File`` is in the distribution
    (a wheel's under ``<name>-<ver>.dist-info/licenses/``, an sdist's under its root)."""
    if metadata_version(meta) < LICENSE_VERSION:
        return
    base = f"{root}/licenses" if filetype == "bdist_wheel" else root
    for license_file in meta.info.get("license_files", []):
        if f"{base}/{license_file}" not in members:
            raise BadRequest(
                f"Invalid distribution metadata: License-File '{license_file}' is not in the "
                f"distribution (PEP 639 puts it at '{base}/{license_file}')."
            )


def metadata_is_reliable(meta: CoreMetadata, filetype: str) -> bool:
    """Whether installers may resolve from this metadata alone (PEP 658): a wheel's always;
    an sdist's only from Metadata-Version 2.2 (PEP 643) with no dependency field Dynamic,
    since otherwise the build may produce other dependencies."""
    if filetype == "bdist_wheel":
        return True
    dynamic = {field.lower() for field in meta.info.get("dynamic", [])}
    return metadata_version(meta) >= RELIABLE_VERSION and not dynamic & DEPENDENCY_FIELDS
