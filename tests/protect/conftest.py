"""Fixtures for protection tests: detectors, uploads through the app, what readers see."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.sessions import COOKIE_NAME, SessionState, create_session
from bastion.audit.models import AuditEvent
from bastion.packaging.models import File, Project, Release
from bastion.services import Services
from tests.protect.detectors import ExpectingJudge, FixedScanner, RecordingComparer, protection


@pytest.fixture
def judge() -> ExpectingJudge:
    return ExpectingJudge()


@pytest.fixture
def scanner() -> FixedScanner:
    return FixedScanner()


@pytest.fixture
def comparer() -> RecordingComparer:
    return RecordingComparer()


@pytest.fixture(autouse=True)
def detectors(services: Services, judge: ExpectingJudge, scanner: FixedScanner,
              comparer: RecordingComparer) -> None:
    """The services the app is built from carry the test detectors."""
    services.protect = protection(judge=judge, scanner=scanner, comparer=comparer)


@dataclass
class Seen:
    """What an anonymous reader of the index finds of a project."""

    simple: int
    in_index: bool
    json: int
    files: list[int]
    in_search: bool


async def seen(client: httpx.AsyncClient, services: Services, name: str) -> Seen:
    client.cookies.clear()
    async with services.db.session() as session:
        paths = list(await session.scalars(
            select(File.path).join(Release, File.release_id == Release.id)
            .join(Project, Release.project_id == Project.id)
            .where(Project.normalized_name == name)
        ))
    index = await client.get("/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    search = await client.get("/search", params={"q": name})
    return Seen(
        simple=(await client.get(f"/simple/{name}/")).status_code,
        in_index=any(p["name"] == name for p in index.json()["projects"]),
        json=(await client.get(f"/pypi/{name}/json")).status_code,
        files=[(await client.get(f"/files/{p}")).status_code for p in paths],
        in_search=f'href="/project/{name}/"' in search.text,
    )


def hidden(view: Seen) -> bool:
    return (view.simple == 404 and not view.in_index and view.json == 404
            and all(s == 404 for s in view.files) and not view.in_search)


def served(view: Seen) -> bool:
    return (view.simple == 200 and view.in_index and view.json == 200
            and all(s == 200 for s in view.files) and view.in_search)


async def web_session(services: Services, user: User) -> tuple[str, str]:
    """A signed-in, fresh browser session: (cookie value, CSRF token)."""
    async with services.db.transaction() as session:
        raw, row = await create_session(session, services.clock, user_id=user.id,
                                        state=SessionState.FULL, fresh=True)
    return raw, row.csrf_secret


def cookie(raw: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE_NAME}={raw}"}


async def audit_tags(services: Services, prefix: str = "protect:") -> list[str]:
    async with services.db.session() as session:
        return list(await session.scalars(
            select(AuditEvent.tag).where(AuditEvent.tag.startswith(prefix)).order_by(AuditEvent.id)
        ))


def mail_to(services: Services, address: str) -> list[tuple[str, str]]:
    """(subject, body) of every message to ``address`` in the embedded mailbox."""
    path = services.mailer.mbox_path
    if not path.exists():
        return []
    return [(str(m["Subject"]), m.get_payload(decode=True).decode())
            for m in mailbox.mbox(path) if m["To"] == address]
