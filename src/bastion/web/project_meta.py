"""Turn a release's stored core metadata (JSON API ``info`` keys) into a sidebar.

Metadata is whatever an uploader sent: values may be missing, of the wrong type,
or hostile. Only http(s) URLs become links; everything else is shown as text
(and escaped by the template).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SAFE_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Link:
    label: str
    url: str | None  # None when the value is not a safe http(s) URL


@dataclass(frozen=True)
class Sidebar:
    links: list[Link] = field(default_factory=list)
    people: list[tuple[str, str]] = field(default_factory=list)  # (role, text)
    license: str | None = None
    keywords: list[str] = field(default_factory=list)
    classifiers: dict[str, list[str]] = field(default_factory=dict)  # top-level -> rest
    requires_dist: list[str] = field(default_factory=list)
    provides_extra: list[str] = field(default_factory=list)


def safe_url(value: str) -> str | None:
    """``value`` if it is an absolute http(s) URL, else None."""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc:
        return value
    return None


def _text(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if isinstance(value, str) and value.strip() and value.strip().upper() != "UNKNOWN":
        return value.strip()
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if isinstance(v, str) and v.strip()]
    return []


def _links(meta: dict[str, Any]) -> list[Link]:
    links: list[Link] = []
    seen: set[str] = set()
    home = _text(meta, "home_page")
    if home:
        links.append(Link("Homepage", safe_url(home)))
        seen.add(home)
    download = _text(meta, "download_url")
    if download:
        links.append(Link("Download", safe_url(download)))
        seen.add(download)
    urls = meta.get("project_urls")
    if isinstance(urls, dict):
        for label, url in urls.items():
            if isinstance(label, str) and isinstance(url, str) and url.strip() not in seen:
                links.append(Link(label.strip() or url, safe_url(url)))
                seen.add(url.strip())
    return links


def _people(meta: dict[str, Any]) -> list[tuple[str, str]]:
    people = []
    for role in ("author", "maintainer"):
        name, email = _text(meta, role), _text(meta, f"{role}_email")
        if name and email:
            people.append((role.title(), f"{name} <{email}>" if "@" not in name else name))
        elif name or email:
            people.append((role.title(), name or email or ""))
    return people


def _license(meta: dict[str, Any]) -> str | None:
    expression = _text(meta, "license_expression")
    if expression:
        return expression
    text = _text(meta, "license")
    if text and len(text) > 200:
        # Some projects paste the whole licence text here; show its first line.
        return text.splitlines()[0][:200] + "…"
    return text


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        separator = "," if "," in value else None
        return [k.strip() for k in value.split(separator) if k.strip()]
    return _strings(value)


def _classifiers(value: Any) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for classifier in _strings(value):
        top, _, rest = classifier.partition("::")
        groups.setdefault(top.strip(), []).append(rest.strip() or top.strip())
    return groups


def sidebar(meta: dict[str, Any] | None) -> Sidebar:
    """The sidebar for one release's metadata."""
    meta = meta if isinstance(meta, dict) else {}
    return Sidebar(
        links=_links(meta),
        people=_people(meta),
        license=_license(meta),
        keywords=_keywords(meta.get("keywords")),
        classifiers=_classifiers(meta.get("classifiers")),
        requires_dist=_strings(meta.get("requires_dist")),
        provides_extra=_strings(meta.get("provides_extra")),
    )
