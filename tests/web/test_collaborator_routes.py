"""The collaborators pages: list for everyone with a role, changes for owners (CSRF, fresh
confirmation), clear errors on the page, and the link from the manage page."""

from __future__ import annotations

import mailbox
import re
from datetime import timedelta
from email.message import Message

from bastion.clock import MovableClock
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.index import Index
from tests.support.types import MakeUser
from tests.support.web import csrf_from, sign_in

URL = "/manage/project/demo/collaborators/"


def mails(services: Services) -> list[Message]:
    return list(mailbox.mbox(services.mailer.mbox_path))


async def test_owner_invites_a_collaborator_who_accepts(index: Index, make_user: MakeUser) -> None:
    await make_user("alice")
    await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    manage = await index.client.get("/manage/project/demo/")
    assert URL in manage.text
    page = await index.client.get(URL)
    assert page.status_code == 200 and "Invite a collaborator" in page.text
    token = csrf_from(page.text)
    invited = await index.client.post(
        URL, data={"csrf_token": token, "username": "carol", "role": "Maintainer"}
    )
    assert invited.status_code == 303 and invited.headers["location"] == URL
    page = await index.client.get(URL)
    assert "Invited carol to be Maintainer. They have 7 days to accept." in page.text
    assert 'id="pending-invitations"' in page.text
    assert "carol</td>" in page.text and f"{URL}carol/remove/" not in page.text  # no role yet
    before = await index.snapshot()
    again = await index.client.post(
        URL, data={"csrf_token": token, "username": "carol", "role": "Owner"}
    )
    assert again.status_code == 409 and "already has a pending invitation" in again.text
    assert await index.snapshot() == before
    mail = mails(index.services)
    assert mail[-1]["To"] == "carol@example.org"
    assert mail[-1]["Subject"] == "alice invited you to demo on Bastion"
    assert "/account/invitations/" in mail[-1].get_payload()

    index.client.cookies.clear()
    await sign_in(index.client, "carol")
    mine = await index.client.get("/manage/projects/")
    assert 'id="pending-invitations"' in mine.text
    listing = await index.client.get("/account/invitations/")
    match = re.search(r"/account/invitations/(\d+)/accept/", listing.text)
    assert match is not None and "demo" in listing.text
    accepted = await index.client.post(match.group(0), data={"csrf_token": csrf_from(listing.text)})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/manage/projects/"
    mine = await index.client.get("/manage/projects/")
    assert "You are now Maintainer of demo." in mine.text and "/project/demo/" in mine.text
    assert mails(index.services)[-1]["Subject"] == "carol accepted the invitation to demo"

    index.client.cookies.clear()
    await sign_in(index.client, "alice")
    page = await index.client.get(URL)
    assert "carol</td>" in page.text and 'id="pending-invitations"' not in page.text
    token = csrf_from(page.text)
    changed = await index.client.post(
        f"{URL}carol/role/", data={"csrf_token": token, "role": "Owner"}
    )
    assert changed.status_code == 303
    page = await index.client.get(URL)
    assert "carol is now Owner." in page.text
    confirm = await index.client.get(f"{URL}carol/remove/")
    assert confirm.status_code == 200 and "Remove carol from demo?" in confirm.text
    removed = await index.client.post(f"{URL}carol/remove/", data={"csrf_token": token})
    assert removed.status_code == 303
    page = await index.client.get(URL)
    assert "Removed carol (Owner) from demo." in page.text
    assert "carol</td>" not in page.text
    assert mails(index.services)[-1]["Subject"] == "You were removed from demo on Bastion"
    history = await index.client.get("/project/demo/history.json")
    assert [e["tag"] for e in history.json()["events"]][:5] == [
        "project:role:remove",
        "project:role:change",
        "project:role:add",
        "project:invitation:accept",
        "project:invitation:create",
    ]


async def test_invitations_can_be_revoked_declined_and_expire(
    index: Index, make_user: MakeUser, clock: MovableClock
) -> None:
    await make_user("alice")
    await make_user("carol")
    await make_user("dave")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    token = csrf_from((await index.client.get(URL)).text)
    for name in ("carol", "dave"):
        response = await index.client.post(
            URL, data={"csrf_token": token, "username": name, "role": "Maintainer"}
        )
        assert response.status_code == 303
    revoked = await index.client.post(
        "/manage/project/demo/invitations/dave/revoke/", data={"csrf_token": token}
    )
    assert revoked.status_code == 303
    assert "Withdrew the invitation of dave." in (await index.client.get(URL)).text
    assert mails(index.services)[-1]["Subject"] == "Your invitation to demo was withdrawn"

    index.client.cookies.clear()
    await sign_in(index.client, "dave")
    assert "no pending invitations" in (await index.client.get("/account/invitations/")).text
    index.client.cookies.clear()
    await sign_in(index.client, "carol")
    listing = await index.client.get("/account/invitations/")
    accept = re.search(r"/account/invitations/(\d+)/accept/", listing.text)
    assert accept is not None
    clock.advance(timedelta(days=index.services.settings.role_invitation_days, seconds=1))
    await sign_in(index.client, "carol")
    listing = await index.client.get("/account/invitations/")
    assert "no pending invitations" in listing.text  # expired: no longer offered
    before = await index.snapshot()
    late = await index.client.post(accept.group(0), data={"csrf_token": csrf_from(listing.text)})
    assert late.status_code == 410 and "expired" in late.text
    assert await index.snapshot() == before  # no role given
    index.client.cookies.clear()
    await sign_in(index.client, "alice")
    page = await index.client.get(URL)
    assert "expired</span>" in page.text
    token = csrf_from(page.text)
    renewed = await index.client.post(
        URL, data={"csrf_token": token, "username": "carol", "role": "Maintainer"}
    )
    assert renewed.status_code == 303  # an expired invitation is replaced
    index.client.cookies.clear()
    await sign_in(index.client, "carol")
    listing = await index.client.get("/account/invitations/")
    decline = re.search(r"/account/invitations/(\d+)/decline/", listing.text)
    assert decline is not None
    declined = await index.client.post(
        decline.group(0), data={"csrf_token": csrf_from(listing.text)}
    )
    assert declined.status_code == 303
    assert (
        "Declined the invitation to demo." in (await index.client.get("/account/invitations/")).text
    )
    assert mails(index.services)[-1]["Subject"] == "carol declined the invitation to demo"
    history = await index.client.get("/account/security-history/?format=json")
    assert history.status_code == 200


async def test_errors_are_shown_on_the_page_and_change_nothing(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    token = csrf_from((await index.client.get(URL)).text)
    before = await index.snapshot()
    unknown = await index.client.post(
        URL, data={"csrf_token": token, "username": "zed", "role": "Owner"}
    )
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
    assert "Invite a collaborator" not in page.text
    before = await index.snapshot()
    refused = await index.client.post(
        URL, data={"csrf_token": csrf_from(page.text), "username": "bob", "role": "Owner"}
    )
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
    stale = await index.client.post(
        URL, data={"csrf_token": token, "username": "carol", "role": "Owner"}
    )
    assert stale.status_code == 303
    assert stale.headers["location"] == (
        "/account/reauth/?next=%2Fmanage%2Fproject%2Fdemo%2Fcollaborators%2F"
    )
    assert await index.snapshot() == before


async def test_owner_who_leaves_is_sent_to_their_projects(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    carol = await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    await index.add_role("demo", carol, Role.OWNER)
    await sign_in(index.client, "alice")
    token = csrf_from((await index.client.get(URL)).text)
    left = await index.client.post(f"{URL}alice/remove/", data={"csrf_token": token})
    assert left.status_code == 303 and left.headers["location"] == "/manage/projects/"
    assert "You left demo." in (await index.client.get("/manage/projects/")).text
