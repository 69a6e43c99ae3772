"""Core metadata from the archive: parse, validate, compare with the form, shape for storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.utils import canonicalize_name
from packaging.version import Version

from bastion.errors import BadRequest

# A field declared under an older Metadata-Version than the one that introduced it
# (setuptools wrote ``License-File`` under 2.1 for years) is tolerated, as installers do.
_TOLERATED = "introduced in metadata version"

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
            str(exc) for exc in group.exceptions
            if not (isinstance(exc, InvalidMetadata) and _TOLERATED in str(exc))
        ]
    return []


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
