"""``/pypi/<name>/json`` for a project served from an upstream index.

Built from what ``/simple/<name>/`` lists (the same origin rules, cool-down and refusals),
so the JSON API never offers a file the index would not serve. An upstream simple page
carries no project metadata, so ``info`` holds the name, the latest version and its
``requires_python``, and PyPI's defaults for the rest; digests are the sha256 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from packaging.version import InvalidVersion, Version

from bastion.packaging.json_documents import INFO_DEFAULTS
from bastion.packaging.queries import pick_latest
from bastion.simple.proxied import Composed
from bastion.simple.queries import FileRow
from bastion.simple.render import FILES_PREFIX, upload_time, version_key

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Version:
    """One version as ``pick_latest`` needs it."""

    version: str
    created: datetime
    yanked: bool
    is_prerelease: bool


def _is_prerelease(version: str) -> bool:
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


def _file(row: FileRow, base_url: str) -> dict[str, Any]:
    wheel = row.filename.endswith(".whl")
    when = row.upload_time
    return {
        "comment_text": "",
        "digests": {"sha256": row.sha256},
        "downloads": -1,
        "filename": row.filename,
        "has_sig": False,
        "md5_digest": None,
        "packagetype": "bdist_wheel" if wheel else "sdist",
        "python_version": row.filename.rsplit("-", 3)[1] if wheel else "source",
        "requires_python": row.requires_python,
        "size": row.size,
        "upload_time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if when else None,
        "upload_time_iso_8601": upload_time(when) if when else None,
        "url": f"{base_url}{FILES_PREFIX}{row.path}",
        "yanked": row.yanked,
        "yanked_reason": (row.yanked_reason or None) if row.yanked else None,
    }


def _find(by_version: dict[str, list[FileRow]], version: str) -> str | None:
    """The version written exactly as ``version``, or else equal to it by PEP 440."""
    if version in by_version:
        return version
    key = version_key(version)
    return next((v for v in by_version if version_key(v) == key), None)


def proxied_document(
    composed: Composed, base_url: str, version: str | None = None
) -> dict[str, Any] | None:
    """The PyPI-style JSON document of a proxied project's listing: of the project, or of
    one ``version`` (None when the listing has no such version)."""
    listing = composed.listing
    by_version: dict[str, list[FileRow]] = {}
    for row in listing.files:
        by_version.setdefault(row.version, []).append(row)
    versions = {
        v: _Version(
            v,
            max((r.upload_time or _EPOCH for r in rows), default=_EPOCH),
            all(r.yanked for r in rows),
            _is_prerelease(v),
        )
        for v, rows in by_version.items()
    }
    if version is None:
        chosen = pick_latest(versions.values())
    else:
        found = _find(by_version, version)
        if found is None:
            return None
        chosen = versions[found]
    page = f"{base_url}/simple/{listing.project.normalized_name}/"
    info = None
    if chosen is not None:
        rows = by_version[chosen.version]
        info = {
            **INFO_DEFAULTS,
            "name": listing.project.name,
            "version": chosen.version,
            "requires_python": next((r.requires_python for r in rows if r.requires_python), None),
            "yanked": chosen.yanked,
            "yanked_reason": None,
            "package_url": page,
            "project_url": page,
            "release_url": page,
        }
    document: dict[str, Any] = {"info": info, "last_serial": listing.project.last_serial}
    if version is None:
        document["releases"] = {
            v: [_file(r, base_url) for r in by_version[v]]
            for v in sorted(by_version, key=version_key)
        }
    document["urls"] = [_file(r, base_url) for r in by_version[chosen.version]] if chosen else []
    document["vulnerabilities"] = []
    return document
