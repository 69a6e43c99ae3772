"""Simple API pages as bytes: PEP 503 HTML and PEP 691 JSON, with PEP 592/658/700/714 fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from packaging.version import InvalidVersion, Version

from bastion.simple.queries import FileRow, IndexEntry, ProjectListing

API_VERSION = "1.4"  # PEP 700 (versions, size, upload-time) needs 1.1; PEP 792 status, 1.4.
FILES_PREFIX = "/files/"


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key: PEP 440 order; anything unparsable sorts first, by its text."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def sorted_versions(versions: list[str]) -> list[str]:
    return sorted(versions, key=version_key)


def sorted_files(files: list[FileRow]) -> list[FileRow]:
    """Files in version order, and by filename within a version."""
    keys = {v: version_key(v) for v in {f.version for f in files}}
    return sorted(files, key=lambda f: (keys[f.version], f.filename))


def file_url(row: FileRow) -> str:
    return f"{FILES_PREFIX}{row.path}"


def upload_time(when: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as PEP 700 asks."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class PageExtras:
    """What a page holds beyond its files: PEP 708 links and a note for people."""

    tracks: tuple[str, ...] = ()
    alternate_locations: tuple[str, ...] = ()
    message: str = ""


NO_EXTRAS = PageExtras()


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def project_html(listing: ProjectListing, extras: PageExtras = NO_EXTRAS) -> bytes:
    name = escape(listing.project.name)
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        f'    <meta name="pypi:project-status" content="{escape(listing.project.status)}">',
        *(
            [
                f'    <meta name="pypi:project-status-reason" '
                f'content="{escape(listing.project.status_reason)}">'
            ]
            if listing.project.status_reason
            else []
        ),
        *(f'    <meta name="pypi:tracks" content="{escape(url)}">' for url in extras.tracks),
        *(
            f'    <meta name="pypi:alternate-locations" content="{escape(url)}">'
            for url in extras.alternate_locations
        ),
        f"    <title>Links for {name}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>Links for {name}</h1>",
    ]
    if extras.message:
        lines.append(f"    <p>{escape(extras.message)}</p>")
    for row in sorted_files(listing.files):
        attrs = [f'href="{escape(file_url(row))}#sha256={row.sha256}"']
        if row.requires_python:
            attrs.append(f'data-requires-python="{escape(row.requires_python)}"')
        if row.metadata_sha256:
            attrs.append(f'data-dist-info-metadata="sha256={row.metadata_sha256}"')
            attrs.append(f'data-core-metadata="sha256={row.metadata_sha256}"')
        if row.yanked:
            attrs.append(f'data-yanked="{escape(row.yanked_reason)}"')
        lines.append(f"    <a {' '.join(attrs)}>{escape(row.filename)}</a><br />")
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines).encode()


def _file_json(row: FileRow) -> dict[str, Any]:
    metadata: dict[str, str] | bool = (
        {"sha256": row.metadata_sha256} if row.metadata_sha256 else False
    )
    yanked: str | bool = (row.yanked_reason or True) if row.yanked else False
    item: dict[str, Any] = {
        "filename": row.filename,
        "url": file_url(row),
        "hashes": {"sha256": row.sha256},
        "requires-python": row.requires_python,
        "yanked": yanked,
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
    }
    if row.size is not None:
        item["size"] = row.size
    if row.upload_time is not None:
        item["upload-time"] = upload_time(row.upload_time)
    return item


def project_status(listing: ProjectListing) -> dict[str, str]:
    """PEP 792's ``project-status`` object."""
    status = {"status": listing.project.status}
    if listing.project.status_reason:
        status["reason"] = listing.project.status_reason
    return status


def project_json(listing: ProjectListing, extras: PageExtras = NO_EXTRAS) -> bytes:
    meta: dict[str, Any] = {
        "api-version": API_VERSION,
        "_last-serial": listing.project.last_serial,
    }
    if extras.message:
        meta["_message"] = extras.message
    document: dict[str, Any] = {
        "meta": meta,
        "name": listing.project.normalized_name,
        "project-status": project_status(listing),
        "files": [_file_json(row) for row in sorted_files(listing.files)],
        "versions": sorted_versions(listing.versions),
    }
    if extras.tracks:
        document["tracks"] = list(extras.tracks)
    if extras.alternate_locations:
        document["alternate-locations"] = list(extras.alternate_locations)
    return _dumps(document)


def index_html(entries: list[IndexEntry]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        "    <title>Simple index</title>",
        "  </head>",
        "  <body>",
    ]
    lines += [
        f'    <a href="/simple/{escape(e.normalized_name)}/">{escape(e.name)}</a><br />'
        for e in entries
    ]
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines).encode()


def index_json(entries: list[IndexEntry], serial: int) -> bytes:
    return _dumps(
        {
            "meta": {"api-version": API_VERSION, "_last-serial": serial},
            "projects": [{"name": e.name, "_last-serial": e.last_serial} for e in entries],
        }
    )
