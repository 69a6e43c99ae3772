"""Project, release and file status, and the one rule of what readers of the index see.

``projects.status``:

- ``active``: served (PEP 792's default status).
- ``held``: its name awaits an admin's review (name protection said ``review``). Hidden
  from the simple API, the JSON API, downloads and search; its owners see it in the web
  UI with the reason and may keep uploading to it.
- ``quarantined``: malware (a ``malicious`` scan, an admin, or trusted reports). Hidden
  like ``held``, and uploads by its maintainers are refused until an admin reviews it
  (PEP 792: an index must not accept uploads to a quarantined project).

``releases.status``: ``active`` or ``quarantined`` (an admin's decision on one release).
``files.status``: ``active``, ``held`` (a suspicious scan with
``BASTION_SCAN_SUSPICIOUS_ACTION=hold``) or ``quarantined`` (a malicious scan).

Something is served when it, its release and its project are all active and not deleted.
The simple API lists only active projects and marks them with PEP 792's ``project-status``.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import ColumnElement, and_

from bastion.packaging.models import File, Project, Release

ACTIVE: Final = "active"
HELD: Final = "held"
QUARANTINED: Final = "quarantined"

PROJECT_STATUSES: Final = (ACTIVE, HELD, QUARANTINED)
RELEASE_STATUSES: Final = (ACTIVE, QUARANTINED)
FILE_STATUSES: Final = (ACTIVE, HELD, QUARANTINED)


def project_served() -> ColumnElement[bool]:
    """SQL: the project is served (active, not deleted)."""
    return and_(Project.deleted_at.is_(None), Project.status == ACTIVE)


def release_served() -> ColumnElement[bool]:
    """SQL: the release is served, given its project is."""
    return and_(Release.deleted_at.is_(None), Release.status == ACTIVE)


def file_served() -> ColumnElement[bool]:
    """SQL: the file is served, given its release and project are."""
    return and_(File.deleted_at.is_(None), File.status == ACTIVE)


def status_message(name: str, status: str, reason: str | None) -> str:
    """One sentence for owners and error pages about a project that is not served."""
    why = f" ({reason})" if reason else ""
    if status == HELD:
        return (
            f"The project '{name}' is held for review by the index's administrators{why}: "
            "it cannot be installed until they approve it."
        )
    if status == QUARANTINED:
        return (
            f"The project '{name}' is quarantined{why}: it cannot be installed and uploads "
            "to it are refused until an administrator has reviewed it."
        )
    return f"The project '{name}' is {status}{why}."
