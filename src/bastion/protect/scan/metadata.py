"""Low-weight hints from a distribution's core metadata (PKG-INFO / METADATA)."""

from __future__ import annotations

import re
from email.parser import HeaderParser

from packaging.utils import canonicalize_name

REPOSITORY_URL = re.compile(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org)/[^/\s]+/([^/\s#?]+)"
)


# A distribution that says it is a stand-in or a probe (in its summary, keywords or the
# start of its description): name reservations, dependency-confusion and typosquat tests.
SELF_DESCRIBED = re.compile(
    r"(?i)\b(dummy|placeholder|proof[- ]of[- ]concept|poc|dependency[- ]confusion|typo-?squat\w*|"
    r"security (?:research|test\w*|purposes?)|bug ?bounty|do not (?:install|use)|"
    r"research (?:purposes?|project|package|only)|educational (?:purposes?|use)|red[- ]?team\w*|"
    r"pen(?:etration )?test\w*|ctf)\b"
)
DESCRIPTION_START = 300
# Project-template text never filled in: who wrote it and where it lives left as examples.
TEMPLATE_PERSON = re.compile(
    r"(?i)your[\s_.-]?(?:name|e-?mail|username|user|github)|\b(?:you|author|email|user|test)"
    r"@example\.(?:com|org|net)|\bjohn\.?doe\b"
)
TEMPLATE_URL = re.compile(
    r"(?i)^https?://(?:www\.)?example\.(?:com|org|net)(?:/|$)|"
    r"github\.com/(?:your[\w-]*|username|user|example)(?:/|$)"
)
PEOPLE = ("Author", "Author-email", "Maintainer", "Maintainer-email")


def _squash(name: str) -> str:
    squashed = canonicalize_name(name).replace("-", "")
    for prefix in ("python", "py"):
        squashed = squashed.removeprefix(prefix)
    return squashed.removesuffix(".git")


def metadata_hints(text: str) -> list[tuple[str, str]]:
    """``(capability, excerpt)`` pairs: ``meta-empty``, ``meta-research``, ``meta-template``,
    ``meta-no-home`` and ``meta-foreign-home``."""
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
    said = " ".join([summary, message.get("Keywords", "") or "", description[:DESCRIPTION_START]])
    found = SELF_DESCRIBED.search(said)
    if found:
        hints.append(("meta-research", f"Name: {name}; describes itself as {found.group(0)!r}"))
    urls = [message.get("Home-page", "") or ""] + [
        value.split(",", 1)[-1].strip() for value in message.get_all("Project-URL", []) or []
    ]
    people = " ".join(message.get(field, "") or "" for field in PEOPLE)
    template = TEMPLATE_PERSON.search(people) or next(
        (found for u in urls if (found := TEMPLATE_URL.search(u.strip()))), None
    )
    if template:
        hints.append(("meta-template", f"Name: {name}; template metadata {template.group(0)!r}"))
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
