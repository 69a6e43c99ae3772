"""Low-weight hints from a distribution's core metadata (PKG-INFO / METADATA)."""

from __future__ import annotations

import re
from email.parser import HeaderParser

from packaging.utils import canonicalize_name

REPOSITORY_URL = re.compile(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org)/[^/\s]+/([^/\s#?]+)"
)


def _squash(name: str) -> str:
    squashed = canonicalize_name(name).replace("-", "")
    for prefix in ("python", "py"):
        squashed = squashed.removeprefix(prefix)
    return squashed.removesuffix(".git")


def metadata_hints(text: str) -> list[tuple[str, str]]:
    """``(capability, excerpt)`` pairs: ``meta-empty``, ``meta-no-home`` and
    ``meta-foreign-home``."""
    message = HeaderParser().parsestr(text)
    hints: list[tuple[str, str]] = []
    name = message.get("Name", "") or ""
    summary = (message.get("Summary", "") or "").strip()
    body = message.get_payload()
    description = (message.get("Description", "") or "").strip() or (
        body.strip() if isinstance(body, str) else ""
    )
    if summary.upper() in ("", "UNKNOWN") and description.upper() in ("", "UNKNOWN"):
        hints.append(("meta-empty", f"Name: {name}; no Summary, no description"))
    urls = [message.get("Home-page", "") or ""] + [
        value.split(",", 1)[-1].strip() for value in message.get_all("Project-URL", []) or []
    ]
    if not any(u.strip() and u.strip().upper() != "UNKNOWN" for u in urls):
        hints.append(("meta-no-home", f"Name: {name}; no home page or project URL"))
    own = _squash(name) if name else ""
    for url in urls:
        match = REPOSITORY_URL.match(url.strip())
        if not match or not own:
            continue
        repository = _squash(match.group(1))
        if repository and own not in repository and repository not in own:
            hints.append(("meta-foreign-home", f"Name: {name}; home {url.strip()[:120]}"))
        break
    return hints
