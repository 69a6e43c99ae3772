"""judge_new_name and the admin services on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.errors import BadRequest, Conflict, NotFound
from bastion.packaging.models import Project, Role
from bastion.protect.names import admin as names_admin
from bastion.protect.names import allow_pair, is_official, judge_new_name, record_name
from bastion.protect.names.popular import popular_index, replace_popular
from bastion.protect.names.rules import NameRules
from bastion.services import Services
from tests.support.types import MakeUser


async def add_project(services: Services, name: str, owner_id: int | None = None) -> None:
    async with services.db.transaction() as session:
        project = Project(name=name, normalized_name=name.lower(), created=services.clock.now())
        session.add(project)
        await session.flush()
        if owner_id is not None:
            session.add(Role(user_id=owner_id, project_id=project.id, role_name=Role.OWNER))
        await record_name(session, name)


async def verdict(
    services: Services, name: str, user_id: int | None = None
) -> tuple[str, list[tuple[str, str | None]]]:
    async with services.db.transaction() as session:
        v = await judge_new_name(
            session, services.settings, name, user_id=user_id, now=services.clock.now()
        )
    return v.verdict, [(r.rule, r.similar_to) for r in v.reasons]


async def test_a_lookalike_of_an_existing_project_is_blocked(services: Services) -> None:
    await add_project(services, "python-dateutil")
    async with services.db.transaction() as session:
        v = await judge_new_name(session, services.settings, "Pyth0n_Dateutil", user_id=None)
    assert v.verdict == "block"
    assert v.reasons[0].rule == "lookalike-existing"
    assert "too close to the existing project 'python-dateutil'" in v.message
    async with services.db.session() as session:
        tags = list(await session.scalars(select(AuditEvent.tag)))
    # Judging is not creating: the upload path audits its verdicts (tests/protect/).
    assert not [tag for tag in tags if tag.startswith(("names:", "protect:name"))]


async def test_stdlib_and_prohibited_names_are_blocked(services: Services) -> None:
    assert (await verdict(services, "os"))[0] == "block"
    assert (await verdict(services, "json"))[0] == "block"
    async with services.db.transaction() as session:
        await names_admin.prohibit(
            session, "Evil_Pkg", reason="malware", by="admin", now=services.clock.now()
        )
    assert await verdict(services, "evil-pkg") == ("block", [("prohibited", "evil-pkg")])
    async with services.db.transaction() as session:
        assert [p.normalized_name for p in await names_admin.list_prohibited(session)] == [
            "evil-pkg"
        ]
        await names_admin.unprohibit(session, "evil.pkg", by="admin", now=services.clock.now())
    assert (await verdict(services, "evil-pkg"))[0] == "allow"


async def test_bad_names_are_refused_with_a_message(services: Services) -> None:
    async with services.db.transaction() as session:
        with pytest.raises(BadRequest, match="not a valid name"):
            await names_admin.prohibit(session, "no spaces!", by="a", now=services.clock.now())
        with pytest.raises(NotFound):
            await names_admin.unprohibit(session, "never-added", by="a", now=services.clock.now())


async def test_typosquats_go_to_review_and_maintainers_are_not_flagged(
    services: Services, make_user: MakeUser
) -> None:
    assert (await verdict(services, "reqeusts"))[0] == "review"
    assert (await verdict(services, "requests")) == ("review", [("popular-name", "requests")])
    alice = await make_user("alice")
    await add_project(services, "requests", owner_id=alice.id)
    assert (await verdict(services, "reqeusts", alice.id))[0] == "allow"
    assert (await verdict(services, "my-little-tool"))[0] == "allow"


async def test_an_allowed_pair_is_not_flagged_again(services: Services) -> None:
    assert (await verdict(services, "colorrama"))[0] == "review"
    async with services.db.transaction() as session:
        await allow_pair(session, "colorrama", "colorama", by="admin")
    assert (await verdict(services, "colorrama"))[0] == "allow"


async def test_namespace_grants(services: Services, make_user: MakeUser) -> None:
    acme = await make_user("acme")
    bob = await make_user("bob")
    now = services.clock.now()
    async with services.db.transaction() as session:
        await names_admin.grant_namespace(session, "acme", "acme", open=False, by="a", now=now)
    assert (await verdict(services, "acme-widgets", bob.id)) == ("block", [("namespace", "acme")])
    assert (await verdict(services, "acme-widgets", acme.id))[0] == "allow"
    assert (await verdict(services, "acmewidgets", bob.id))[0] == "allow"  # not the prefix
    async with services.db.transaction() as session:
        with pytest.raises(Conflict):
            await names_admin.grant_namespace(session, "acme", "bob", open=True, by="a", now=now)
        await names_admin.grant_namespace(session, "acme", "acme", open=True, by="a", now=now)
    assert (await verdict(services, "acme-widgets", bob.id))[0] == "allow"
    await add_project(services, "acme-official", owner_id=acme.id)
    await add_project(services, "acme-fan", owner_id=bob.id)
    async with services.db.transaction() as session:
        assert await is_official(session, "acme-official")
        assert not await is_official(session, "acme-fan")
        grants = await names_admin.list_grants(session)
        assert [(g.prefix, g.username, g.open) for g in grants] == [("acme", "acme", True)]
        await names_admin.revoke_namespace(session, "acme", by="a", now=now)
        assert not await is_official(session, "acme-official")


async def test_protected_words_need_the_grant(services: Services, make_user: MakeUser) -> None:
    owner = await make_user("gcorp")
    now = services.clock.now()
    async with services.db.transaction() as session:
        await names_admin.protect_word(session, "gcorp", by="a", now=now)
        assert await names_admin.list_protected_words(session) == ["gcorp"]
    assert (await verdict(services, "cloud-gcorp-auth")) == (
        "review",
        [("protected-word", "gcorp")],
    )
    async with services.db.transaction() as session:
        await names_admin.grant_namespace(session, "gcorp", "gcorp", open=True, by="a", now=now)
    assert (await verdict(services, "cloud-gcorp-auth", owner.id))[0] == "allow"


async def test_a_replaced_popular_list_is_seen_by_the_next_judgement(services: Services) -> None:
    assert (await verdict(services, "zzfrobnicator"))[0] == "allow"
    async with services.db.transaction() as session:
        await replace_popular(
            session, [("zzfrobnicatorr", 1)], source="test", now=services.clock.now()
        )
    assert (await verdict(services, "zzfrobnicator")) == ("review", [("typo", "zzfrobnicatorr")])
    async with services.db.session() as session:
        index = await popular_index(session, NameRules(), 0)
        assert index.get("requests") is None


async def test_critical_projects_are_protected(services: Services) -> None:
    from bastion.critical.policy import mark

    async with services.db.transaction() as session:
        await mark(session, "internal-billing", "ours", True, now=services.clock.now())
    assert (await verdict(services, "internal-biling"))[0] == "review"
