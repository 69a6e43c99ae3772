"""Name protection at project creation, through the upload endpoint: block, review (held),
approve, reject; what readers, the owner and the admins see; audit events and mail."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from bastion.packaging.models import Project
from bastion.protect.models import NameReview, ReservedName
from bastion.protect.review import approve_name, reject_name, review_queue
from bastion.protect.status import ACTIVE, HELD
from bastion.services import Services
from tests.protect.detectors import ExpectingJudge, RecordingPairs, block, protection, review
from tests.support.audit import audit_tags, mail_to
from tests.support.dists import make_wheel
from tests.support.protect import decide, hidden, seen, served
from tests.support.types import MakeUser, PostUpload
from tests.support.web import cookie, stored_paths, web_session

OPERATOR_REASON = "checked with the requests maintainers"


async def _project(services: Services, name: str) -> Project | None:
    async with services.db.session() as session:
        return await session.scalar(select(Project).where(Project.normalized_name == name))


async def test_blocked_name_is_refused_with_the_reason_and_nothing_stored(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    judge: ExpectingJudge,
    tmp_path: Path,
) -> None:
    await make_user("alice")
    judge.expected["pyth0n-dateutil"] = block("Pyth0n-dateutil", "python-dateutil")
    response = await post_upload(make_wheel(tmp_path, "Pyth0n-dateutil", "1.0"))
    assert response.status_code == 400
    assert "too close to the existing project 'python-dateutil'" in response.text
    assert "Choose another name" in response.text
    assert await _project(services, "pyth0n-dateutil") is None
    assert await stored_paths(services) == []
    assert await audit_tags(services, prefix="protect:") == ["protect:name-block"]


async def test_allowed_name_is_created_as_before(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    judge: ExpectingJudge,
    tmp_path: Path,
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    response = await post_upload(make_wheel(tmp_path, "plainname", "1.0"))
    assert response.status_code == 200, response.text
    assert "WARNING" not in response.text
    assert judge.calls == ["plainname"]
    assert served(await seen(client, services, "plainname"))
    # Only new projects are judged.
    assert (await post_upload(make_wheel(tmp_path, "plainname", "1.1"))).status_code == 200
    assert judge.calls == ["plainname"]
    assert await audit_tags(services, prefix="protect:") == []


async def test_review_holds_the_project_until_approved(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    judge: ExpectingJudge,
    tmp_path: Path,
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    judge.expected["requests"] = review("requests", "requests")
    response = await post_upload(make_wheel(tmp_path, "requests", "99.0"))
    assert response.status_code == 200, response.text
    assert "OK: uploaded requests-99.0-py3-none-any.whl" in response.text
    assert "WARNING: The project 'requests' is held for review" in response.text
    project = await _project(services, "requests")
    assert project is not None and project.status == HELD
    assert (project.status_reason or "").startswith("name review: ")
    assert hidden(await seen(client, services, "requests"))
    assert (await client.get("/project/requests/")).status_code == 404

    # The owner sees it, with the reason; keeps uploading, told again.
    raw, _csrf = await web_session(services, alice)
    page = await client.get("/project/requests/", headers=cookie(raw))
    assert page.status_code == 200
    assert "held for review" in page.text and (project.status_reason or "") in page.text
    again = await post_upload(make_wheel(tmp_path, "requests", "99.1"))
    assert again.status_code == 200 and "held for review" in again.text

    [(subject, body)] = mail_to(services, "alice@example.org")
    assert subject == "Your new project requests is held for review"
    assert "held for review" in body and "requests" in body
    assert await audit_tags(services, prefix="protect:") == ["protect:name-review"]
    async with services.db.session() as session:
        [item] = await review_queue(session, trusted_weight=5)
    assert item.project == "requests" and item.held_name and item.status == HELD

    from bastion.packaging.changes import Operator

    result = await decide(
        services,
        approve_name,
        "requests",
        by=Operator("test"),
        reason=OPERATOR_REASON,
        protection=services.protect,
    )
    assert result.status == ACTIVE
    assert served(await seen(client, services, "requests"))
    assert (await _project(services, "requests")).status == ACTIVE  # type: ignore[union-attr]
    assert await audit_tags(services, prefix="protect:") == [
        "protect:name-review",
        "protect:review-approve",
    ]
    assert mail_to(services, "alice@example.org")[-1][0] == "Review of requests: approve"
    async with services.db.session() as session:
        assert await review_queue(session, trusted_weight=5) == []


async def test_approve_can_allow_list_the_look_alike_pairs(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    judge: ExpectingJudge,
    tmp_path: Path,
) -> None:
    from bastion.packaging.changes import Operator

    await make_user("alice")
    pairs = RecordingPairs()
    services.protect = protection(judge=judge, pairs=pairs)
    judge.expected["reqeusts"] = review("reqeusts", "requests", rule="typo")
    assert (await post_upload(make_wheel(tmp_path, "reqeusts", "1.0"))).status_code == 200
    result = await decide(
        services,
        approve_name,
        "reqeusts",
        by=Operator("test"),
        allow_pairs=True,
        protection=services.protect,
    )
    assert ("reqeusts", "requests", "operator:test") in pairs.pairs
    assert "allow-list: reqeusts ~ requests" in result.changed


async def test_reject_deletes_the_project_and_reserves_the_name(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    judge: ExpectingJudge,
    tmp_path: Path,
    client: httpx.AsyncClient,
) -> None:
    from bastion.packaging.changes import Operator

    await make_user("alice")
    await make_user("bob")
    judge.expected["requests"] = review("requests", "requests")
    assert (await post_upload(make_wheel(tmp_path, "requests", "99.0"))).status_code == 200
    await decide(
        services, reject_name, "requests", by=Operator("test"), reason="dependency confusion"
    )
    project = await _project(services, "requests")
    assert project is not None and project.deleted_at is not None
    async with services.db.session() as session:
        reserved = await session.get(ReservedName, "requests")
        [name_review] = list(await session.scalars(select(NameReview)))
    assert reserved is not None and "dependency confusion" in reserved.reason
    assert name_review.state == "rejected" and name_review.decided_by == "operator:test"
    assert hidden(await seen(client, services, "requests"))
    assert mail_to(services, "alice@example.org")[-1][0] == "Review of requests: reject"
    assert "protect:review-reject" in await audit_tags(services, prefix="protect:")


async def test_a_reserved_name_is_refused_to_everyone(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
) -> None:
    from bastion.protect.quarantine import reserve_name

    await make_user("bob")
    async with services.db.transaction() as session:
        await reserve_name(
            session, "Evil_Pkg", "remove: malware", when=services.clock.now(), by="operator:test"
        )
    response = await post_upload(make_wheel(tmp_path, "evil-pkg", "1.0"), user="bob")
    assert response.status_code == 400
    assert "reserved it (remove: malware)" in response.text
    assert await _project(services, "evil-pkg") is None
    assert await audit_tags(services, prefix="protect:") == ["protect:name-block"]


async def test_nothing_to_approve_is_a_conflict(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
) -> None:
    import pytest

    from bastion.errors import Conflict
    from bastion.packaging.changes import Operator

    await make_user("alice")
    assert (await post_upload(make_wheel(tmp_path, "plain", "1.0"))).status_code == 200
    with pytest.raises(Conflict, match="not waiting for review"):
        await decide(
            services, approve_name, "plain", by=Operator("test"), protection=services.protect
        )
    with pytest.raises(Conflict, match="not waiting for review"):
        await decide(services, reject_name, "plain", by=Operator("test"), reason="no")
