"""The admins' name-protection page: namespace grants, prohibited names, protected words."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.protect.names import admin
from bastion.services import Services
from tests.support.types import MakeUser
from tests.support.web import csrf, sign_in

PAGE = "/admin/names/"


async def tags(services: Services) -> list[str]:
    async with services.db.session() as session:
        rows = await session.scalars(
            select(AuditEvent.tag).where(AuditEvent.tag.like("names:%")).order_by(AuditEvent.id)
        )
        return list(rows)


async def test_only_admins_see_and_change_name_protection(
    client: httpx.AsyncClient,
    services: Services,
    make_user: MakeUser,
) -> None:
    await make_user("alice")
    await make_user("root", admin=True)
    assert (await client.get(PAGE)).status_code in (303, 307)  # sign in first
    await sign_in(client, "root")
    token = await csrf(client, PAGE)
    client.cookies.clear()
    await sign_in(client, "alice")
    assert (await client.get(PAGE)).status_code == 403
    alice_token = await csrf(client, "/account/")
    for path, data in (
        ("grants/", {"prefix": "acme", "username": "alice"}),
        ("prohibited/", {"name": "pip"}),
        ("words/", {"word": "acme"}),
    ):
        refused = await client.post(PAGE + path, data={"csrf_token": alice_token, **data})
        assert refused.status_code == 403
        # Without the CSRF token nobody gets in, not even to be told they are no admin.
        assert (await client.post(PAGE + path, data=data)).status_code == 403
    assert token and await tags(services) == []


async def test_admins_grant_prohibit_and_protect_then_remove(
    client: httpx.AsyncClient,
    services: Services,
    make_user: MakeUser,
) -> None:
    await make_user("alice")
    await make_user("root", admin=True)
    await sign_in(client, "root")
    empty = await client.get(PAGE)
    assert empty.status_code == 200
    assert "No namespace is granted" in empty.text and "No name is prohibited" in empty.text
    assert "No word is protected" in empty.text
    token = await csrf(client, PAGE)

    for path, data in (
        ("grants/", {"prefix": "Acme", "username": "alice", "kind": "restricted"}),
        ("grants/", {"prefix": "shared", "username": "alice", "kind": "open"}),
        ("prohibited/", {"name": "Evil_Pkg", "reason": "known malware"}),
        ("words/", {"word": "Globex"}),
    ):
        done = await client.post(PAGE + path, data={"csrf_token": token, **data})
        assert done.status_code == 303 and done.headers["location"] == PAGE, done.text
    listing = await client.get(PAGE)
    assert "is a protected word" in listing.text  # the last change's one-shot message
    for text in (
        "<code>acme</code>",
        "restricted",
        "<code>shared</code>",
        "open",
        "<code>evil-pkg</code>",
        "known malware",
        "<code>globex</code>",
    ):
        assert text in listing.text
    async with services.db.session() as session:
        grants = await admin.list_grants(session)
        assert [(g.prefix, g.username, g.open, g.created_by) for g in grants] == [
            ("acme", "alice", False, "root"),
            ("shared", "alice", True, "root"),
        ]
        assert [p.normalized_name for p in await admin.list_prohibited(session)] == ["evil-pkg"]
        assert await admin.list_protected_words(session) == ["globex"]

    for path, data in (
        ("grants/revoke/", {"prefix": "acme"}),
        ("prohibited/remove/", {"name": "evil-pkg"}),
        ("words/remove/", {"word": "globex"}),
    ):
        done = await client.post(PAGE + path, data={"csrf_token": token, **data})
        assert done.status_code == 303, done.text
    async with services.db.session() as session:
        assert [g.prefix for g in await admin.list_grants(session)] == ["shared"]
        assert await admin.list_prohibited(session) == []
        assert await admin.list_protected_words(session) == []
    assert await tags(services) == [
        "names:grant",
        "names:grant",
        "names:prohibit",
        "names:protect-word",
        "names:revoke",
        "names:unprohibit",
        "names:unprotect-word",
    ]


async def test_bad_input_is_refused_with_a_message_and_nothing_written(
    client: httpx.AsyncClient,
    services: Services,
    make_user: MakeUser,
) -> None:
    await make_user("alice")
    await make_user("bob")
    await make_user("root", admin=True)
    await sign_in(client, "root")
    token = await csrf(client, PAGE)
    cases = (
        ("grants/", {"prefix": "acme", "username": "nobody"}, 404, "No user is called"),
        ("grants/", {"prefix": "acme/x", "username": "alice"}, 400, "not a valid prefix"),
        (
            "grants/",
            {"prefix": "acme", "username": "alice", "kind": "maybe"},
            400,
            "restricted or open",
        ),
        ("prohibited/", {"name": "no such name!"}, 400, "not a valid name"),
        ("words/", {"word": "two-words"}, 400, "several words"),
        ("grants/revoke/", {"prefix": "never"}, 404, "No namespace"),
        ("prohibited/remove/", {"name": "never"}, 404, "not on the prohibited list"),
        ("words/remove/", {"word": "never"}, 404, "not a protected word"),
    )
    for path, data, status, message in cases:
        refused = await client.post(PAGE + path, data={"csrf_token": token, **data})
        assert refused.status_code == status, (path, refused.text)
        assert message in refused.text, (path, refused.text)
    kept = await client.post(
        PAGE + "grants/",
        data={"csrf_token": token, "prefix": "acme", "username": "nobody", "kind": "open"},
    )
    assert 'value="acme"' in kept.text and 'value="nobody"' in kept.text  # what was typed

    assert (
        await client.post(
            PAGE + "grants/", data={"csrf_token": token, "prefix": "acme", "username": "alice"}
        )
    ).status_code == 303
    taken = await client.post(
        PAGE + "grants/", data={"csrf_token": token, "prefix": "acme", "username": "bob"}
    )
    assert taken.status_code == 409 and "granted to someone else" in taken.text
    assert await tags(services) == ["names:grant"]
