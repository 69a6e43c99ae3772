"""The collaborators pages: list for everyone with a role, changes for owners (CSRF, fresh
confirmation), clear errors on the page, and the link from the manage page."""

from __future__ import annotations

from datetime import timedelta

from bastion.clock import MovableClock
from bastion.packaging.models import Role
from bastion.services import Services
from tests.packaging.lifecycle import Index, MakeUser, index_fixture  # noqa: F401
from tests.web.account_helpers import csrf_from, sign_in

URL = "/manage/project/demo/collaborators/"


async def test_owner_manages_collaborators_from_the_page(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    manage = await index.client.get("/manage/project/demo/")
    assert URL in manage.text
    page = await index.client.get(URL)
    assert page.status_code == 200 and "Add a collaborator" in page.text
    token = csrf_from(page.text)
    added = await index.client.post(URL, data={"csrf_token": token, "username": "carol",
                                               "role": "Maintainer"})
    assert added.status_code == 303 and added.headers["location"] == URL
    changed = await index.client.post(f"{URL}carol/role/", data={"csrf_token": token,
                                                                 "role": "Owner"})
    assert changed.status_code == 303
    page = await index.client.get(URL)
    assert "carol</td>\n      <td>Owner" in page.text
    removed = await index.client.post(f"{URL}carol/remove/", data={"csrf_token": token})
    assert removed.status_code == 303
    assert "carol" not in (await index.client.get(URL)).text
    history = await index.client.get("/project/demo/history.json")
    assert [e["tag"] for e in history.json()["events"]][:3] == [
        "project:role:remove", "project:role:change", "project:role:add"]


async def test_errors_are_shown_on_the_page_and_change_nothing(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    token = csrf_from((await index.client.get(URL)).text)
    before = await index.snapshot()
    unknown = await index.client.post(URL, data={"csrf_token": token, "username": "zed",
                                                 "role": "Owner"})
    assert unknown.status_code == 404 and "no user named" in unknown.text
    assert 'value="zed"' in unknown.text  # the form keeps what was typed
    last = await index.client.post(f"{URL}alice/remove/", data={"csrf_token": token})
    assert last.status_code == 409 and "at least one owner" in last.text
    forged = await index.client.post(f"{URL}alice/remove/", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert await index.snapshot() == before


async def test_maintainers_see_the_list_but_cannot_change_it(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    carol = await make_user("carol")
    await make_user("bob")
    await index.publish("demo", "1.0", sdist=False)
    await index.add_role("demo", carol, Role.MAINTAINER)
    await sign_in(index.client, "carol")
    page = await index.client.get(URL)
    assert page.status_code == 200 and "alice" in page.text
    assert "Add a collaborator" not in page.text
    before = await index.snapshot()
    refused = await index.client.post(URL, data={"csrf_token": csrf_from(page.text),
                                                 "username": "bob", "role": "Owner"})
    assert refused.status_code == 403 and "manage the collaborators of" in refused.text
    assert await index.snapshot() == before
    index.client.cookies.clear()
    await sign_in(index.client, "bob")
    assert (await index.client.get(URL)).status_code == 403


async def test_changes_need_a_fresh_confirmation(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    token = csrf_from((await index.client.get(URL)).text)
    clock.advance(timedelta(minutes=services.settings.reauth_minutes + 1))
    before = await index.snapshot()
    stale = await index.client.post(URL, data={"csrf_token": token, "username": "carol",
                                               "role": "Owner"})
    assert stale.status_code == 303
    assert stale.headers["location"] == (
        "/account/reauth/?next=%2Fmanage%2Fproject%2Fdemo%2Fcollaborators%2F")
    assert await index.snapshot() == before


async def test_owner_who_leaves_is_sent_to_the_public_page(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    carol = await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    await index.add_role("demo", carol, Role.OWNER)
    await sign_in(index.client, "alice")
    token = csrf_from((await index.client.get(URL)).text)
    left = await index.client.post(f"{URL}alice/remove/", data={"csrf_token": token})
    assert left.status_code == 303 and left.headers["location"] == "/project/demo/"
