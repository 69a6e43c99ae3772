"""Security history as people read it: one sentence per event ("Deleted release 1.2 of
tiny-tool"), the time relative and absolute, the address, a compact user agent, and the
API-token use folded into the upload it served (twine authenticates once per file).

Presentation only: the events come from :mod:`bastion.audit.queries` unchanged (the JSON
export keeps the raw tags and details).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bastion.audit.queries import HistoryEvent

# A token use this close before an upload by the same user from the same address is the
# authentication of that upload.
FOLD_WINDOW = timedelta(minutes=2)

_FACTORS = {
    "password": "password",
    "totp": "authenticator app",
    "recovery": "recovery code",
    "webauthn": "security key",
}


@dataclass(frozen=True)
class EventView:
    """One line of the history page."""

    time: datetime
    tag: str
    sentence: str
    actor: str | None
    ip_address: str | None
    agent: str
    project: str | None
    note: str  # the reason given, the token used...
    ago: str  # relative to the page's time


def _method(details: dict[str, Any]) -> str:
    parts = str(details.get("method") or "password").split("+")
    return " and ".join(_FACTORS.get(p, p) for p in parts)


def _q(value: object) -> str:
    return f"“{value}”"


def _release(d: dict[str, Any], project: str) -> str:
    return f"release {d.get('version')} of {project}"


Describe = Callable[[dict[str, Any], str], str]

SENTENCES: dict[str, Describe] = {
    "account:create": lambda d, p: "Created the account",
    "login:success": lambda d, p: f"Signed in with {_method(d)}",
    "login:password_ok": lambda d, p: "Password accepted, second factor still to come",
    "login:failure": lambda d, p: "Failed sign-in attempt",
    "password:change": lambda d, p: "Changed the password",
    "password:change-failure": lambda d, p: "Failed to change the password",
    "password:reset-request": lambda d, p: "Asked for a password-reset email",
    "password:reset": lambda d, p: "Reset the password from an emailed link",
    "email:change": lambda d, p: "Changed the email address",
    "email:verify": lambda d, p: "Verified the email address",
    "2fa:totp:started": lambda d, p: "Began setting up an authenticator app",
    "2fa:totp:enrolled": lambda d, p: "Turned on the authenticator app",
    "2fa:totp:removed": lambda d, p: "Removed the authenticator app",
    "2fa:webauthn:added": lambda d, p: f"Added the security key {_q(d.get('label', ''))}",
    "2fa:webauthn:removed": lambda d, p: f"Removed the security key {_q(d.get('label', ''))}",
    "2fa:webauthn:possible-clone": lambda d, p: (
        f"The security key {_q(d.get('label', ''))} may have been cloned"
    ),
    "2fa:recovery:generated": lambda d, p: f"Generated {d.get('count', 'new')} recovery codes",
    "2fa:recovery:used": lambda d, p: (
        f"Signed in with a recovery code ({d.get('codes_left', '?')} left)"
    ),
    "2fa:failure": lambda d, p: "Wrong second-factor code",
    "token:create": lambda d, p: f"Created the API token {_q(d.get('token_name', ''))}",
    "token:revoke": lambda d, p: f"Revoked the API token {_q(d.get('token_name', ''))}",
    "token:use": lambda d, p: f"Used the API token {_q(d.get('token_name', ''))}",
    "project:create": lambda d, p: f"Created the project {p}",
    "project:upload": lambda d, p: f"Uploaded {d.get('filename')} to {_release(d, p)}",
    "project:release:yank": lambda d, p: f"Yanked {_release(d, p)}",
    "project:release:unyank": lambda d, p: f"Un-yanked {_release(d, p)}",
    "project:release:delete": lambda d, p: f"Deleted {_release(d, p)}",
    "project:release:restore": lambda d, p: f"Restored {_release(d, p)}",
    "project:file:delete": lambda d, p: f"Deleted the file {d.get('filename')} of {p}",
    "project:file:restore": lambda d, p: f"Restored the file {d.get('filename')} of {p}",
    "project:delete": lambda d, p: f"Deleted the project {p}",
    "project:restore": lambda d, p: f"Restored the project {p}",
    "project:purge": lambda d, p: f"Removed the deleted {d.get('kind', 'item')} of {p} for good",
    "project:critical": lambda d, p: f"{p} was designated critical",
    "project:role:add": lambda d, p: f"{d.get('username')} became {d.get('role')} of {p}",
    "project:role:change": lambda d, p: (
        f"Changed the role of {d.get('username')} on {p} from {d.get('previous_role')} "
        f"to {d.get('role')}"
    ),
    "project:role:remove": lambda d, p: (
        f"Removed {d.get('username')} ({d.get('previous_role')}) from {p}"
    ),
    "project:invitation:create": lambda d, p: (
        f"Invited {d.get('username')} to be {d.get('role')} of {p}"
    ),
    "project:invitation:revoke": lambda d, p: (
        f"Withdrew the invitation of {d.get('username')} to {p}"
    ),
    "project:invitation:accept": lambda d, p: f"{d.get('username')} accepted the invitation to {p}",
    "project:invitation:decline": lambda d, p: (
        f"{d.get('username')} declined the invitation to {p}"
    ),
    "giveaway:claim": lambda d, p: f"Claimed {d.get('quantity', 1)} security-key promo code(s)",
    "mandate:reminder": lambda d, p: "Was reminded to turn on two-factor authentication",
}


def sentence(tag: str, details: dict[str, Any], project: str | None) -> str:
    """The event as a sentence; an unknown tag reads as its words."""
    describe = SENTENCES.get(tag)
    if describe is None:
        words = re.sub(r"[:_-]+", " ", tag).strip()
        return words[:1].upper() + words[1:]
    text = describe(details, project or "a project")
    return text[:1].upper() + text[1:]


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
_TOOL = re.compile(
    r"^(twine|pip|uv|poetry|pdm|hatch|flit|python-requests|httpx|curl)/([\w.]+)", re.IGNORECASE
)


def compact_agent(agent: str | None) -> str:
    """'Firefox on Linux', 'twine 5.1.1', or the first words of anything else."""
    if not agent:
        return ""
    tool = _TOOL.match(agent.strip())
    if tool:
        return f"{tool.group(1)} {tool.group(2)}"
    if agent.startswith("Mozilla/"):
        browser = next((name for key, name in _BROWSERS if key in agent), "A browser")
        system = next((name for key, name in _SYSTEMS if key in agent), "")
        return f"{browser} on {system}" if system else browser
    return agent.split(" ")[0][:40]


def relative(when: datetime, now: datetime) -> str:
    """'just now', '5 minutes ago', '3 hours ago', '2 days ago', then 'on 2026-01-31'."""
    minutes = int((now - when).total_seconds()) // 60
    if minutes < 1:
        return "just now"
    for amount, unit in ((minutes, "minute"), (minutes // 60, "hour"), (minutes // 1440, "day")):
        limit = {"minute": 60, "hour": 24, "day": 30}[unit]
        if amount < limit:
            return f"{amount} {unit}{'s' if amount != 1 else ''} ago"
    return f"on {when:%Y-%m-%d}"


def _note(event: HistoryEvent) -> str:
    reason = event.details.get("reason")
    return f"Reason: {reason}" if reason else ""


def view(events: Sequence[HistoryEvent], now: datetime) -> list[EventView]:
    """The events (newest first) as lines, each token use folded into the upload it served."""
    used: set[int] = set()
    lines: list[EventView] = []
    for index, event in enumerate(events):
        if event.id in used:
            continue
        note = _note(event)
        if event.tag == "project:upload":
            for older in events[index + 1 :]:
                if event.time - older.time > FOLD_WINDOW:
                    break
                if (
                    older.tag == "token:use"
                    and older.id not in used
                    and older.username == event.username
                    and older.ip_address == event.ip_address
                ):
                    used.add(older.id)
                    note = f"With the API token {_q(older.details.get('token_name', ''))}"
                    break
        lines.append(
            EventView(
                time=event.time,
                tag=event.tag,
                sentence=sentence(event.tag, event.details, event.project),
                actor=event.username or event.details.get("by"),
                ip_address=event.ip_address,
                agent=compact_agent(event.user_agent),
                project=event.project,
                note=note,
                ago=relative(event.time, now),
            )
        )
    return lines
