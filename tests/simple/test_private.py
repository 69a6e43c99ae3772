"""BASTION_PRIVATE_INDEX: /simple/, /files/, the JSON API and pages need read access."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import event

from bastion.accounts.models import User
from bastion.accounts.tokens import create_token, revoke_token
from bastion.app import create_app
from bastion.config import Settings
from bastion.services import Services
from bastion.simple.access import forget_read_token
from tests.support.factories import Seeder
from tests.support.types import MakeUser
from tests.support.web import store_state


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"private_index": True})


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def basic(token: str, user: str = "__token__") -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


async def token(services: Services, user: User, **scopes: object) -> tuple[str, int]:
    async with services.db.transaction() as session:
        secret, row = await create_token(
            session,
            services.clock,
            services.settings,
            user=user,
            name="t",
            **scopes,  # type: ignore[arg-type]
        )
        return secret, row.id


@contextmanager
def count_queries(services: Services) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


async def test_reading_needs_a_read_token(
    http: httpx.AsyncClient,
    services: Services,
    seed: Seeder,
    make_user: MakeUser,
) -> None:
    await seed.release("private-lib", "1.0")
    seeded = await seed.file("private-lib", "1.0", "private_lib-1.0-py3-none-any.whl")
    alice = await make_user("alice")
    reader, _ = await token(services, alice, can_read=True, can_upload=False)
    uploader, _ = await token(services, alice)

    for path in (
        "/simple/",
        "/simple/private-lib/",
        f"/files/{seeded.path}",
        "/pypi/private-lib/json",
    ):
        anonymous = await http.get(path)
        assert anonymous.status_code == 401, path
        assert anonymous.headers["www-authenticate"] == 'Basic realm="Bastion"'
        assert "private" in anonymous.text
        assert (await http.get(path, headers=basic(reader))).status_code == 200, path
        refused = await http.get(path, headers=basic(uploader))
        assert refused.status_code == 403 and "no read scope" in refused.text

    page = await http.get("/simple/private-lib/", headers=basic(reader))
    assert page.headers["cache-control"].startswith("private")
    assert (
        await http.get("/simple/private-lib/", headers=basic(reader, "alice"))
    ).status_code == 401
    assert (
        await http.get("/simple/private-lib/", headers=basic("bastion-nope-nope"))
    ).status_code == 403
    # A browser is sent to sign in; the sign-in page itself stays open.
    browser = await http.get("/project/private-lib/", headers={"accept": "text/html"})
    assert browser.status_code == 303
    assert browser.headers["location"] == "/account/login/?next=%2Fproject%2Fprivate-lib%2F"
    assert (await http.get("/account/login/")).status_code == 200


async def test_a_read_only_token_cannot_upload(
    http: httpx.AsyncClient,
    services: Services,
    make_user: MakeUser,
) -> None:
    reader, _ = await token(services, await make_user("alice"), can_read=True, can_upload=False)
    before = await store_state(services)
    response = await http.post(
        "/legacy/",
        headers=basic(reader),
        files={"content": ("x.whl", b"x")},
        data={":action": "file_upload", "name": "x", "version": "1"},
    )
    assert response.status_code == 403 and "can only read" in response.text
    assert await store_state(services) == before


async def test_read_tokens_limited_to_projects_and_patterns(
    http: httpx.AsyncClient,
    services: Services,
    seed: Seeder,
    make_user: MakeUser,
) -> None:
    for name in ("acme-one", "acme-two", "other"):
        await seed.release(name, "1.0")
        await seed.file(name, "1.0", f"{name.replace('-', '_')}-1.0-py3-none-any.whl")
    limited, _ = await token(
        services, await make_user("alice"), can_read=True, read_projects=["Acme_*"]
    )
    headers = basic(limited)
    assert (await http.get("/simple/acme-one/", headers=headers)).status_code == 200
    assert (await http.get("/simple/acme-two/", headers=headers)).status_code == 200
    other = await http.get("/simple/other/", headers=headers)
    assert other.status_code == 403 and "may read only acme-*" in other.text
    other_file = next(f for f in seed.files if f.filename.startswith("other"))
    assert (await http.get(f"/files/{other_file.path}", headers=headers)).status_code == 403
    assert (await http.get("/simple/", headers=headers)).status_code == 403
    assert (await http.get("/pypi/other/json", headers=headers)).status_code == 403


async def test_warm_reads_make_no_query_and_revocation_bites_at_once(
    http: httpx.AsyncClient,
    services: Services,
    seed: Seeder,
    make_user: MakeUser,
) -> None:
    await seed.release("fast", "1.0")
    seeded = await seed.file("fast", "1.0", "fast-1.0-py3-none-any.whl")
    reader, token_id = await token(services, await make_user("alice"), can_read=True)
    headers = basic(reader)
    assert (await http.get("/simple/fast/", headers=headers)).status_code == 200
    assert (await http.get(f"/files/{seeded.path}", headers=headers)).status_code == 200
    with count_queries(services) as statements:
        for _ in range(5):
            assert (await http.get("/simple/fast/", headers=headers)).status_code == 200
            assert (await http.get(f"/files/{seeded.path}", headers=headers)).status_code == 200
    assert statements == []

    async with services.db.transaction() as session:
        await revoke_token(session, services.clock, token_id=token_id)
    forget_read_token(services, token_id)  # what the revoke route does in its process
    revoked = await http.get("/simple/fast/", headers=headers)
    assert revoked.status_code == 403 and "revoked" in revoked.text


async def test_a_signed_in_browser_reads_pages_and_the_simple_api(
    http: httpx.AsyncClient,
    seed: Seeder,
    make_user: MakeUser,
) -> None:
    from tests.support.web import sign_in

    await seed.release("team-lib", "1.0")
    seeded = await seed.file("team-lib", "1.0", "team_lib-1.0-py3-none-any.whl")
    await make_user("alice")
    assert (await http.get("/simple/team-lib/")).status_code == 401
    await sign_in(http, "alice")
    assert (await http.get("/simple/team-lib/")).status_code == 200
    assert (await http.get(f"/files/{seeded.path}")).status_code == 200
    assert (
        await http.get("/project/team-lib/", headers={"accept": "text/html"})
    ).status_code == 200
