"""An upstream project page as plain data, parsed from PEP 691 JSON or PEP 503 HTML.

Files without a sha256 are dropped: Bastion verifies every byte it pulls against the
digest the upstream page states, so a file it cannot verify is never offered.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

SHA256 = re.compile(r"^[0-9a-f]{64}$")
SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")


class InvalidUpstreamPage(ValueError):
    """The upstream answered with something that is not a simple project page."""


@dataclass(frozen=True, slots=True)
class UpstreamDist:
    """One distribution file an upstream page lists."""

    filename: str
    url: str  # absolute, without the #sha256= fragment
    sha256: str
    version: str
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    metadata_sha256: str | None = None
    size: int | None = None
    upload_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class UpstreamDoc:
    """An upstream project page: where it came from and the files it lists."""

    name: str  # normalised
    index_url: str  # the upstream simple index (ends with /)
    serial: int = 0
    etag: str | None = None
    files: tuple[UpstreamDist, ...] = ()
    versions: tuple[str, ...] = field(default=())

    @property
    def page_url(self) -> str:
        return f"{self.index_url}{self.name}/"

    def to_json(self) -> dict[str, Any]:
        files = []
        for dist in self.files:
            item = asdict(dist)
            item["upload_time"] = dist.upload_time.isoformat() if dist.upload_time else None
            files.append(item)
        return {"files": files, "versions": list(self.versions)}

    @classmethod
    def from_json(
        cls, data: dict[str, Any], *, name: str, index_url: str, serial: int, etag: str | None
    ) -> UpstreamDoc:
        files = []
        for item in data.get("files", []):
            when = item.get("upload_time")
            files.append(
                UpstreamDist(
                    **{
                        **item,
                        "upload_time": datetime.fromisoformat(when) if when else None,
                    }
                )
            )
        return cls(
            name=name,
            index_url=index_url,
            serial=serial,
            etag=etag,
            files=tuple(files),
            versions=tuple(data.get("versions", [])),
        )


def version_of(filename: str) -> str | None:
    """The version in a wheel or sdist filename, or None when it is neither."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _metadata_hash(value: object) -> str | None:
    if isinstance(value, dict):
        digest = value.get("sha256")
        if isinstance(digest, str) and SHA256.match(digest.lower()):
            return digest.lower()
    return None


def _dist(
    *, filename: str, url: str, sha256: str | None, page_url: str, **extra: Any
) -> UpstreamDist | None:
    """A verifiable file with a safe name, or None."""
    if not SAFE_FILENAME.match(filename) or sha256 is None:
        return None
    sha256 = sha256.lower()
    if not SHA256.match(sha256):
        return None
    version = version_of(filename)
    if version is None:
        return None
    absolute, _ = urldefrag(urljoin(page_url, url))
    if not absolute.startswith(("http://", "https://")):
        return None
    return UpstreamDist(filename=filename, url=absolute, sha256=sha256, version=version, **extra)


def parse_json(
    body: bytes, *, name: str, index_url: str, serial: int, etag: str | None
) -> UpstreamDoc:
    """A PEP 691 JSON project page."""
    page_url = f"{index_url}{name}/"
    try:
        data = json.loads(body)
        raw_files = data["files"]
        assert isinstance(raw_files, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise InvalidUpstreamPage("not a PEP 691 project page") from None
    files = []
    for item in raw_files:
        if not isinstance(item, dict):
            continue
        hashes = item.get("hashes") or {}
        yanked = item.get("yanked", False)
        size = item.get("size")
        dist = _dist(
            filename=str(item.get("filename", "")),
            url=str(item.get("url", "")),
            sha256=hashes.get("sha256") if isinstance(hashes, dict) else None,
            page_url=page_url,
            requires_python=item.get("requires-python") or None,
            yanked=bool(yanked),
            yanked_reason=yanked if isinstance(yanked, str) else "",
            metadata_sha256=_metadata_hash(
                item.get("core-metadata", item.get("dist-info-metadata"))
            ),
            size=size if isinstance(size, int) and size >= 0 else None,
            upload_time=_parse_time(item.get("upload-time")),
        )
        if dist is not None:
            files.append(dist)
    versions = data.get("versions")
    if not isinstance(versions, list):
        versions = sorted({f.version for f in files})
    serial = serial or int((data.get("meta") or {}).get("_last-serial") or 0)
    return UpstreamDoc(
        name=name,
        index_url=index_url,
        serial=serial,
        etag=etag,
        files=tuple(files),
        versions=tuple(str(v) for v in versions),
    )


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def _fragment_sha256(url: str) -> str | None:
    _, fragment = urldefrag(url)
    algo, _, digest = fragment.partition("=")
    return digest if algo == "sha256" and digest else None


def parse_html(
    body: bytes, *, name: str, index_url: str, serial: int, etag: str | None
) -> UpstreamDoc:
    """A PEP 503 HTML project page (with PEP 592/658/714 attributes)."""
    page_url = f"{index_url}{name}/"
    parser = _Anchors()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except AssertionError:
        raise InvalidUpstreamPage("not an HTML page") from None
    files = []
    for attrs, text in parser.anchors:
        href = attrs.get("href") or ""
        filename = text or href.rsplit("/", 1)[-1].split("#", 1)[0]
        yanked = attrs.get("data-yanked")
        metadata = attrs.get("data-core-metadata") or attrs.get("data-dist-info-metadata")
        meta_hash = None
        if metadata and metadata.startswith("sha256="):
            meta_hash = _metadata_hash({"sha256": metadata.removeprefix("sha256=")})
        dist = _dist(
            filename=filename,
            url=href,
            sha256=_fragment_sha256(href),
            page_url=page_url,
            requires_python=attrs.get("data-requires-python") or None,
            yanked=yanked is not None,
            yanked_reason=yanked or "",
            metadata_sha256=meta_hash,
        )
        if dist is not None:
            files.append(dist)
    return UpstreamDoc(
        name=name,
        index_url=index_url,
        serial=serial,
        etag=etag,
        files=tuple(files),
        versions=tuple(sorted({f.version for f in files})),
    )
