"""Soft deletion: who may delete what, what disappears from every read path, what stays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.errors import BadRequest, Forbidden, NotFound
from bastion.packaging.changes import Operator
from bastion.packaging.deletion import (
    check_typed_name,
    delete_file,
    delete_project,
    delete_release,
)
from bastion.packaging.models import File, Project, Release, Role
from bastion.packaging.tombstones import check_release_not_deleted
from bastion.services import Services
from tests.support.dists import make_wheel
from tests.support.index import Index, as_user
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser


async def test_owner_deletes_a_file_and_it_disappears_but_stays_as_a_tombstone(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    wheel, sdist = await index.publish("demo", "1.0")
    urls = await index.file_urls("demo")
    assert (await index.client.get(urls[wheel.name])).status_code == 200

    result = await in_transaction(
        services, delete_file, wheel.name, by=as_user(alice), reason="broken build"
    )

    assert result.kind == "file" and result.filename == wheel.name
    assert await index.simple_files("demo") == [sdist.name]
    assert (await index.client.get(urls[wheel.name])).status_code == 404
    data = (await index.client.get("/pypi/demo/json")).json()
    assert [u["filename"] for u in data["urls"]] == [sdist.name]
    async with services.db.session() as session:
        row = await session.scalar(select(File).where(File.filename == wheel.name))
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.tag == "project:file:delete")
        )
    assert row is not None and row.deleted_at == services.clock.now()
    assert row.deleted_by_id == alice.id and row.delete_reason == "broken build"
    assert event is not None and event.details["filename"] == wheel.name
    assert event.details["authority"] == "owner"
    assert await services.store.exists(row.path)  # the blob is kept for retention
    # The filename can never be used again.
    again = await index.upload(wheel, "alice")
    assert again.status_code == 400
    assert "already exists" in again.text


async def test_deleting_a_release_hides_it_everywhere(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await index.publish("demo", "1.0")
    await index.publish("demo", "2.0")
    serial_before = (await index.client.get("/pypi/demo/json")).headers["x-pypi-last-serial"]

    await in_transaction(services, delete_release, "demo", "2.0", by=as_user(alice))

    files = await index.simple_files("demo")
    assert files is not None and all("2.0" not in f for f in files) and len(files) == 2
    data = (await index.client.get("/pypi/demo/json")).json()
    assert list(data["releases"]) == ["1.0"] and data["info"]["version"] == "1.0"
    assert (await index.client.get("/pypi/demo/2.0/json")).status_code == 404
    assert (await index.client.get("/project/demo/2.0/")).status_code == 404
    new_serial = (await index.client.get("/pypi/demo/json")).headers["x-pypi-last-serial"]
    assert int(new_serial) > int(serial_before)
    # The version is reserved with its tombstone: no new files in it.
    fresh = make_wheel(
        index.directory,
        "demo",
        "2.0",
        filename="demo-2.0-py2.py3-none-any.whl",
        extra_files={"demo/extra.py": b"x = 1\n"},
    )
    response = await index.upload(fresh, "alice")
    assert response.status_code == 400
    assert "was deleted" in response.text and "cannot be reused" in response.text


async def test_deleting_a_project_hides_it_from_every_read_path(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await index.publish("demo", "1.0")
    await index.publish("other", "1.0")
    urls = await index.file_urls("demo")

    result = await in_transaction(
        services, delete_project, "Demo", by=as_user(alice), reason="abandoned"
    )

    assert result.kind == "project" and result.files == 2
    assert await index.simple_files("demo") is None
    for url in urls.values():
        assert (await index.client.get(url)).status_code == 404
    index_page = await index.client.get(
        "/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    assert [p["name"] for p in index_page.json()["projects"]] == ["other"]
    assert (await index.client.get("/pypi/demo/json")).status_code == 404
    assert (await index.client.get("/project/demo/")).status_code == 404
    search = await index.client.get("/search", params={"q": "demo"})
    assert "/project/demo/" not in search.text
    async with services.db.session() as session:
        project = await session.scalar(select(Project).where(Project.normalized_name == "demo"))
        assert project is not None and project.deleted_at is not None
        roles = (await session.scalars(select(Role).where(Role.project_id == project.id))).all()
    assert len(roles) == 1  # kept: restore needs them


async def test_deleted_name_cannot_be_registered_by_anyone(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_user("bob")
    await index.publish("demo", "1.0")
    await in_transaction(services, delete_project, "demo", by=as_user(alice))
    before = await index.snapshot()

    wheel = make_wheel(index.directory, "Demo", "3.0")
    for user in ("bob", "alice"):
        response = await index.upload(wheel, user)
        assert response.status_code == 403, response.text
        until = (services.clock.now() + timedelta(days=90)).date().isoformat()
        assert "belongs to a project deleted on" in response.text
        assert f"reserved until {until}" in response.text
    assert await index.snapshot() == before


async def test_deleted_critical_name_is_reserved_for_good(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    root = await make_user("root", admin=True)
    await make_user("alice")
    await make_user("bob")
    await index.publish("famous", "1.0")
    await index.make_critical("famous")
    await in_transaction(
        services, delete_project, "famous", by=as_user(root), reason="malware report"
    )
    before = await index.snapshot()

    response = await index.upload(make_wheel(index.directory, "famous", "9.0"), "bob")

    assert response.status_code == 403
    assert "deleted critical project and can never be registered by anyone else" in response.text
    assert await index.snapshot() == before


@pytest.mark.parametrize("role", [Role.OWNER, Role.MAINTAINER])
async def test_critical_project_refuses_deletion_by_its_people_with_yank_guidance(
    index: Index, services: Services, make_user: MakeUser, role: str
) -> None:
    await make_user("alice")
    carol = await make_user("carol")
    wheel, _ = await index.publish("famous", "1.0")
    await index.add_role("famous", carol, role)
    await index.make_critical("famous")
    before = await index.snapshot()

    for attempt in (
        in_transaction(
            services, delete_project, "famous", by=as_user(carol), reason="escaping the rule"
        ),
        in_transaction(services, delete_release, "famous", "1.0", by=as_user(carol)),
        in_transaction(services, delete_file, wheel.name, by=as_user(carol)),
    ):
        with pytest.raises(Forbidden) as refused:
            await attempt
        assert refused.value.status_code == 403
        assert "yank instead" in refused.value.message.lower()
        assert "/manage/project/famous/" in refused.value.message
    assert await index.snapshot() == before


async def test_admin_deletes_a_critical_project_only_with_a_reason(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    root = await make_user("root", admin=True)
    await make_user("alice")
    await index.publish("famous", "1.0")
    await index.make_critical("famous")
    before = await index.snapshot()

    with pytest.raises(BadRequest) as refused:
        await in_transaction(services, delete_project, "famous", by=as_user(root), reason="  ")
    assert "Give a reason" in refused.value.message
    assert await index.snapshot() == before

    await in_transaction(services, delete_project, "famous", by=as_user(root), reason="court order")
    async with services.db.session() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.tag == "project:delete"))
    assert event is not None and event.details["authority"] == "admin"
    assert event.details["reason"] == "court order" and event.user_id == root.id


async def test_private_index_setting_lets_owners_delete_critical_projects(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await index.publish("famous", "1.0")
    await index.make_critical("famous")
    services.settings = services.settings.model_copy(update={"critical_deletion_admin_only": False})

    await in_transaction(services, delete_release, "famous", "1.0", by=as_user(alice))
    assert await index.simple_files("famous") == []


async def test_maintainers_and_strangers_may_not_delete(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await index.publish("demo", "1.0")
    await index.add_role("demo", carol, Role.MAINTAINER)
    before = await index.snapshot()

    with pytest.raises(Forbidden) as refused:
        await in_transaction(services, delete_project, "demo", by=as_user(carol))
    assert refused.value.message == (
        "The user 'carol' isn't allowed to delete anything of project 'demo'."
    )
    with pytest.raises(Forbidden) as refused:
        await in_transaction(services, delete_release, "demo", "1.0", by=as_user(bob))
    assert "The user 'bob' isn't allowed" in refused.value.message
    assert await index.snapshot() == before


async def test_the_2fa_mandate_applies_to_deletion(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await index.publish("demo", "1.0")
    services.settings = services.settings.model_copy(
        update={
            "mandate_scope": "all",
            "mandate_enforced_from": date(2000, 1, 1),
        }
    )
    before = await index.snapshot()

    with pytest.raises(Forbidden) as refused:
        await in_transaction(services, delete_project, "demo", by=as_user(alice))
    assert "enable two-factor authentication" in refused.value.message
    assert await index.snapshot() == before


async def test_unknown_or_already_deleted_things_are_404(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    wheel, _ = await index.publish("demo", "1.0")
    with pytest.raises(NotFound):
        await in_transaction(services, delete_project, "nope", by=as_user(alice))
    with pytest.raises(NotFound):
        await in_transaction(services, delete_release, "demo", "9.9", by=as_user(alice))
    await in_transaction(services, delete_file, wheel.name, by=as_user(alice))
    before = await index.snapshot()
    with pytest.raises(NotFound) as refused:
        await in_transaction(services, delete_file, wheel.name, by=as_user(alice))
    assert refused.value.message == f"There is no file named '{wheel.name}' on this index."
    assert await index.snapshot() == before


async def test_operator_must_give_a_reason(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0")
    before = await index.snapshot()
    with pytest.raises(BadRequest) as refused:
        await in_transaction(services, delete_project, "demo", by=Operator(), reason="")
    assert "--reason" in refused.value.message
    assert await index.snapshot() == before
    await in_transaction(services, delete_project, "demo", by=Operator(), reason="spam")
    assert await index.simple_files("demo") is None


def test_typed_name_confirmation() -> None:
    check_typed_name("My.Project", "my-project")
    with pytest.raises(BadRequest) as refused:
        check_typed_name("My.Project", "other")
    assert "type the project's name exactly: 'My.Project'" in refused.value.message
    with pytest.raises(BadRequest):
        check_typed_name("My.Project", "")


def test_release_tombstone_check_passes_live_releases() -> None:
    project = Project(name="demo", normalized_name="demo")
    check_release_not_deleted(project, Release(version="1.0"))
