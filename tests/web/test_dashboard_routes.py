"""'Your projects' (roles, last release), the Manage link and the maintainers on a project
page, the header links for signed-in users and admins, and the admin index."""

from __future__ import annotations

from datetime import timedelta

from bastion.clock import MovableClock
from bastion.packaging.models import Role
from tests.support.index import Index
from tests.support.types import MakeUser
from tests.support.web import sign_in


async def test_your_projects_lists_roles_and_last_release(
    index: Index, make_user: MakeUser, clock: MovableClock
) -> None:
    await make_user("alice")
    bob = await make_user("bob")
    await index.publish("demo", "1.0", sdist=False)
    await index.publish("demo", "1.1", sdist=False)
    clock.advance(timedelta(hours=1))
    await index.publish("other", "0.1", sdist=False)
    await index.add_role("other", bob, Role.MAINTAINER)
    await sign_in(index.client, "bob")
    page = await index.client.get("/manage/projects/")
    assert page.status_code == 200
    assert 'href="/manage/projects/">Your projects</a>' in page.text  # header link
    assert "/project/other/" in page.text and "/project/demo/" not in page.text
    assert "Maintainer" in page.text and "0.1" in page.text
    await index.client.post("/account/logout/", data={})
    index.client.cookies.clear()
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/projects/")
    assert page.text.index("/project/other/") < page.text.index("/project/demo/")  # newest first
    assert "1.1" in page.text and "Owner" in page.text
    assert 'href="/manage/project/demo/">Manage</a>' in page.text


async def test_project_page_lists_maintainers_and_links_manage_for_them(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("bob")
    await index.publish("demo", "1.0", sdist=False)
    anonymous = await index.client.get("/project/demo/")
    assert 'id="maintainers"' in anonymous.text and "alice" in anonymous.text
    assert 'id="manage-project"' not in anonymous.text
    await sign_in(index.client, "bob")
    assert 'id="manage-project"' not in (await index.client.get("/project/demo/")).text
    index.client.cookies.clear()
    await sign_in(index.client, "alice")
    page = await index.client.get("/project/demo/")
    assert 'id="manage-project" href="/manage/project/demo/"' in page.text


async def test_your_projects_needs_sign_in_and_admin_index_needs_admin(
    index: Index, make_user: MakeUser
) -> None:
    response = await index.client.get("/manage/projects/")
    assert response.status_code == 303 and "/account/login/" in response.headers["location"]
    await make_user("alice")
    await make_user("root", admin=True)
    await sign_in(index.client, "alice")
    empty = await index.client.get("/manage/projects/")
    assert "You have no projects yet" in empty.text
    assert 'href="/admin/"' not in empty.text
    refused = await index.client.get("/admin/")
    assert refused.status_code == 403
    index.client.cookies.clear()
    await sign_in(index.client, "root")
    admin = await index.client.get("/admin/")
    assert admin.status_code == 200 and 'href="/admin/deleted/"' in admin.text
    assert 'href="/admin/"' in admin.text  # header link for admins
