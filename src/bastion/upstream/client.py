"""Talking to upstream simple indexes over HTTP (httpx): pages and files, bounded in time."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from bastion.errors import BastionError
from bastion.upstream.documents import InvalidUpstreamPage, UpstreamDoc, parse_html, parse_json

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)
USER_AGENT = "bastion-upstream-proxy"


class UpstreamUnavailable(BastionError):
    """502: the upstream answered badly, refused the connection, or sent bad bytes."""

    status_code = 502


class UpstreamTimeout(BastionError):
    """504: the upstream did not answer within ``upstream_timeout``."""

    status_code = 504


@dataclass(frozen=True)
class PageFetch:
    """One page request's outcome: a new doc, "not modified", or "not there"."""

    doc: UpstreamDoc | None
    not_modified: bool = False


def make_http(timeout: float) -> httpx.AsyncClient:
    """The shared client: pooled connections, the timeout on every phase, no env proxies."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def _temp_file(tmp_dir: Path) -> str:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upstream-")
    os.close(fd)
    return name


def _where(index_url: str) -> str:
    return httpx.URL(index_url).host or index_url


async def fetch_page(
    http: httpx.AsyncClient, index_url: str, name: str, etag: str | None = None
) -> PageFetch:
    """GET ``<index>/<name>/`` (JSON preferred); raises UpstreamUnavailable/UpstreamTimeout."""
    headers = {"accept": ACCEPT}
    if etag:
        headers["if-none-match"] = etag
    try:
        response = await http.get(f"{index_url}{name}/", headers=headers)
    except httpx.TimeoutException:
        raise UpstreamTimeout(
            f"The upstream index {_where(index_url)} did not answer in time for {name!r}; "
            "try again later."
        ) from None
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(
            f"The upstream index {_where(index_url)} cannot be reached for {name!r} "
            f"({type(exc).__name__}); try again later."
        ) from None
    if response.status_code == 304:
        return PageFetch(doc=None, not_modified=True)
    if response.status_code in (404, 410):
        return PageFetch(doc=None)
    if response.status_code != 200:
        raise UpstreamUnavailable(
            f"The upstream index {_where(index_url)} answered {response.status_code} "
            f"for {name!r}; try again later."
        )
    serial_text = response.headers.get("x-pypi-last-serial", "")
    serial = int(serial_text) if serial_text.isdigit() else 0
    content_type = response.headers.get("content-type", "")
    parse = parse_json if "json" in content_type else parse_html
    try:
        doc = parse(
            response.content,
            name=name,
            index_url=index_url,
            serial=serial,
            etag=response.headers.get("etag"),
        )
    except InvalidUpstreamPage as exc:
        raise UpstreamUnavailable(
            f"The upstream index {_where(index_url)} sent a bad page for {name!r}: {exc}."
        ) from None
    return PageFetch(doc=doc)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int


async def download_verified(
    http: httpx.AsyncClient,
    url: str,
    *,
    sha256: str,
    max_size: int,
    tmp_dir: Path,
    what: str,
) -> Downloaded:
    """Stream ``url`` to a temporary file, hashing; refuse a wrong digest or an oversize file.

    The caller owns (and removes) the returned file.
    """
    path = Path(await anyio.to_thread.run_sync(_temp_file, tmp_dir))
    digest = hashlib.sha256()
    size = 0
    try:
        async with await anyio.open_file(path, "wb") as out, http.stream("GET", url) as response:
            if response.status_code != 200:
                raise UpstreamUnavailable(
                    f"The upstream answered {response.status_code} for {what}; try again later."
                )
            async for chunk in response.aiter_bytes(1 << 16):
                size += len(chunk)
                if size > max_size:
                    raise UpstreamUnavailable(
                        f"Refused {what}: it is larger than the {max_size}-byte limit "
                        "for upstream files."
                    )
                digest.update(chunk)
                await out.write(chunk)
        if digest.hexdigest() != sha256:
            raise UpstreamUnavailable(
                f"Refused {what}: its sha256 ({digest.hexdigest()}) does not match the "
                f"upstream page's ({sha256}). The upstream copy may have been tampered with."
            )
    except BaseException as exc:
        await anyio.Path(path).unlink(missing_ok=True)
        if isinstance(exc, httpx.TimeoutException):
            raise UpstreamTimeout(f"The upstream did not send {what} in time; try again.") from None
        if isinstance(exc, httpx.HTTPError):
            raise UpstreamUnavailable(
                f"The upstream cannot be reached for {what} ({type(exc).__name__}); try again."
            ) from None
        raise
    return Downloaded(path=path, size=size)
