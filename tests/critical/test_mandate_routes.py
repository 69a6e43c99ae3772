"""The route walk the 2FA mandate demands: every route that changes a project, every way
of authenticating, refused without a second factor.

How it stays complete:

* ``test_every_state_changing_route_is_classified`` walks every route of the app (the
  FastAPI routes and the fast read-path router) and fails when a state-changing route
  (POST/PUT/PATCH/DELETE) is in neither ``PROJECT_ROUTES`` (how to call it) nor
  ``NOT_PROJECT_ACTIONS``; a route whose path mentions a project may not be put in the
  second. Routes that declare no methods (mounts, the fast prefixes) must be read-only:
  they are probed and must answer 405.
* Every route in ``PROJECT_ROUTES`` is called with every method in ``AUTH_METHODS``
  by an Owner (an admin for admin-only routes) without a second factor, on a critical
  project with the mandate enforced, and on a plain project with scope ``all``: methods
  the route accepts must be refused with 403 and a message about two-factor
  authentication; the others must not get in at all. Either way nothing changes.
* A positive control per route and method shows the table's calls are right: with a
  second factor (token, session), or on an uncovered project (password, which accounts
  with 2FA may not use), the same call succeeds and changes the index.

A new way of authenticating: add it to ``AUTH_METHODS`` (how a request carries it) and
to the ``auth`` of each route that accepts it; every route is then walked with it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from bastion.accounts.models import User
from bastion.accounts.sessions import COOKIE_NAME, SessionState, create_session
from bastion.accounts.token_models import ApiToken
from bastion.accounts.tokens import create_token
from bastion.app import Bastion
from bastion.clock import MovableClock, today
from bastion.critical.policy import mark
from bastion.packaging.changes import Operator
from bastion.packaging.deletion import delete_project
from bastion.packaging.models import (
    File,
    JournalEntry,
    Project,
    Release,
    Role,
    RoleInvitation,
)
from bastion.packaging.yank import yank_release
from bastion.services import Services
from tests.protect.factories import hold_name, pending_scan
from tests.support.dists import make_wheel
from tests.support.factories import PASSWORD
from tests.support.transaction import in_transaction
from tests.support.twofactor import confirm_totp, start_totp
from tests.support.web import form_for

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROJECT = "demo"  # Owner alice, Maintainer carol; 1.0 live, 1.1 yanked; name held for review,
# a suspicious scan of 1.0's wheel awaiting review (for the admins' review routes)
DELETED = "relic"  # Owner alice; deleted (by an operator), for the restore route
WHEEL_1_0 = "demo-1.0-py3-none-any.whl"

# -- The world every call runs against. ------------------------------------------------


@dataclass
class World:
    services: Services
    client: httpx.AsyncClient
    directory: Path
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # username -> API token
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (cookie, csrf)

    async def credentials(self, username: str) -> None:
        """A fresh API token and a fresh full browser session for ``username``."""
        user = self.users[username]
        async with self.services.db.transaction() as session:
            secret, _ = await create_token(
                session, self.services.clock, self.services.settings, user=user, name="walk"
            )
            raw, row = await create_session(
                session, self.services.clock, user_id=user.id, state=SessionState.FULL, fresh=True
            )
            self.tokens[username] = secret
            self.sessions[username] = (raw, row.csrf_secret)

    async def enable_totp(self, username: str) -> None:
        user = self.users[username]
        start = await start_totp(self.services, user)
        code = pyotp.TOTP(start.secret).at(self.services.clock.now())
        await confirm_totp(self.services, user, code)


async def build_world(
    services: Services,
    client: httpx.AsyncClient,
    clock: MovableClock,
    directory: Path,
    *,
    critical: bool,
) -> World:
    """alice owns ``demo`` (1.0, yanked 1.1) and ``relic`` (deleted); carol maintains demo;
    dave has no role; root is an admin. Nobody has a second factor."""
    from bastion.accounts.users import create_user

    world = World(services, client, directory)
    for name in ("alice", "carol", "dave", "erin", "root"):
        async with services.db.transaction() as session:
            world.users[name] = await create_user(
                session,
                clock,
                services.passwords,
                username=name,
                email=f"{name}@example.org",
                password=PASSWORD,
                is_admin=name == "root",
                email_verified=True,
            )
    for project, version in ((PROJECT, "1.0"), (PROJECT, "1.1"), (DELETED, "1.0")):
        wheel = make_wheel(directory, project, version)
        response = await client.post(
            "/legacy/",
            data=form_for(wheel),
            auth=("alice", PASSWORD),
            files={"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
        )
        assert response.status_code == 200, response.text
    async with services.db.transaction() as session:
        demo_id = await session.scalar(select(Project.id).where(Project.normalized_name == PROJECT))
        assert demo_id is not None
        session.add(
            Role(user_id=world.users["carol"].id, project_id=demo_id, role_name=Role.MAINTAINER)
        )
        now = clock.now()  # erin has a pending invitation (for the revoke route)
        session.add(
            RoleInvitation(
                project_id=demo_id,
                user_id=world.users["erin"].id,
                invited_by_id=world.users["alice"].id,
                role_name=Role.MAINTAINER,
                created=now,
                expires=now + timedelta(days=7),
            )
        )
    await in_transaction(services, yank_release, PROJECT, "1.1", by=Operator(), reason="broken")
    await hold_name(services, PROJECT)
    await pending_scan(services, WHEEL_1_0)
    await in_transaction(services, delete_project, DELETED, by=Operator(), reason="retired")
    if critical:
        async with services.db.transaction() as session:
            for name in (PROJECT, DELETED):
                await mark(session, name, "many builds depend on it", now=clock.now())
    # The mandate is in force; deleting is left to owners (private-index setting) so that
    # what refuses an owner here is the mandate, not the critical-deletion safeguard.
    services.settings = services.settings.model_copy(
        update={
            "mandate_enforced_from": today(clock) - timedelta(days=1),
            "critical_deletion_admin_only": False,
        }
    )
    clock.advance(timedelta(seconds=1))
    for name in ("alice", "root"):
        await world.credentials(name)
    return world


async def snapshot(services: Services) -> dict[str, Any]:
    """What a project change touches: serials, releases, files, roles, tokens, journal, blobs."""
    async with services.db.session() as session:

        def rows(*columns: Any) -> Any:
            return session.execute(select(*columns).order_by(columns[0]))

        state = {
            "projects": (await rows(Project.id, Project.last_serial, Project.deleted_at)).all(),
            "releases": (
                await rows(Release.id, Release.yanked, Release.yanked_reason, Release.deleted_at)
            ).all(),
            "files": (await rows(File.id, File.filename, File.deleted_at)).all(),
            "roles": (await rows(Role.id, Role.user_id, Role.project_id, Role.role_name)).all(),
            "invitations": (await rows(RoleInvitation.id, RoleInvitation.user_id)).all(),
            "tokens": (await rows(ApiToken.id, ApiToken.project_name)).all(),
            "journal": await session.scalar(select(func.count()).select_from(JournalEntry)),
        }
    state["blobs"] = sorted([p async for p in services.store.iter_paths()])
    return state


# -- Ways of authenticating: how a request carries each. --------------------------------


def _basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


AUTH_METHODS: dict[str, Callable[[World, str], dict[str, str]]] = {
    "session": lambda w, user: {"Cookie": f"{COOKIE_NAME}={w.sessions[user][0]}"},
    "password": lambda w, user: _basic(user, PASSWORD),
    "token": lambda w, user: _basic("__token__", w.tokens[user]),
}


# -- The table: every route that changes a project, and how to call it. -----------------

Body = Callable[[World, str], dict[str, Any]]  # (world, acting user) -> httpx kwargs


def _form(fields: dict[str, str]) -> Body:
    def body(world: World, user: str) -> dict[str, Any]:
        csrf = world.sessions[user][1] if user in world.sessions else ""
        return {"data": {"csrf_token": csrf, **fields}}

    return body


def _upload(world: World, _user: str) -> dict[str, Any]:
    wheel = world.directory / "demo-2.0-py3-none-any.whl"
    if not wheel.exists():
        wheel = make_wheel(world.directory, PROJECT, "2.0")
    return {
        "data": form_for(wheel),
        "files": {"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
    }


def _json(data: dict[str, str]) -> Body:
    return lambda _world, _user: {"json": data}


@dataclass(frozen=True)
class RouteCall:
    url: str  # the route's path with this world's values
    body: Body
    auth: frozenset[str]  # the AUTH_METHODS the route accepts
    ok: int  # the status of the positive control
    actor: str = "alice"  # the Owner; "root" for admin-only routes


SESSION = frozenset({"session"})
BASIC = frozenset({"password", "token"})

PROJECT_ROUTES: dict[tuple[str, str], RouteCall] = {
    ("POST", "/legacy/"): RouteCall("/legacy/", _upload, BASIC, 200),
    ("POST", "/api/projects/{name}/releases/{version}/yank"): RouteCall(
        f"/api/projects/{PROJECT}/releases/1.0/yank", _json({"reason": "bad"}), BASIC, 200
    ),
    ("POST", "/api/projects/{name}/releases/{version}/unyank"): RouteCall(
        f"/api/projects/{PROJECT}/releases/1.1/unyank", _json({}), BASIC, 200
    ),
    ("POST", "/manage/project/{name}/release/{version}/yank/"): RouteCall(
        f"/manage/project/{PROJECT}/release/1.0/yank/", _form({"reason": "bad"}), SESSION, 303
    ),
    ("POST", "/manage/project/{name}/release/{version}/unyank/"): RouteCall(
        f"/manage/project/{PROJECT}/release/1.1/unyank/", _form({}), SESSION, 303
    ),
    ("POST", "/manage/project/{name}/delete/"): RouteCall(
        f"/manage/project/{PROJECT}/delete/",
        _form({"confirm_name": PROJECT, "reason": "done"}),
        SESSION,
        303,
    ),
    ("POST", "/manage/project/{name}/release/{version}/delete/"): RouteCall(
        f"/manage/project/{PROJECT}/release/1.0/delete/",
        _form({"confirm_name": "1.0", "reason": "done"}),
        SESSION,
        303,
    ),
    ("POST", "/manage/project/{name}/file/{filename}/delete/"): RouteCall(
        f"/manage/project/{PROJECT}/file/{WHEEL_1_0}/delete/",
        _form({"confirm_name": PROJECT, "reason": "done"}),
        SESSION,
        303,
    ),
    ("POST", "/admin/deleted/restore/"): RouteCall(
        "/admin/deleted/restore/",
        _form({"kind": "project", "name": DELETED}),
        SESSION,
        303,
        actor="root",
    ),
    # Creating a token limited to a project is an action on that project.
    ("POST", "/account/tokens/"): RouteCall(
        "/account/tokens/", _form({"name": "ci", "project": PROJECT}), SESSION, 200
    ),
    ("POST", "/manage/project/{name}/collaborators/"): RouteCall(
        f"/manage/project/{PROJECT}/collaborators/",
        _form({"username": "dave", "role": "Maintainer"}),
        SESSION,
        303,
    ),
    # The admins' review decisions (bastion.protect.review).
    ("POST", "/admin/review/{name}/approve/"): RouteCall(
        f"/admin/review/{PROJECT}/approve/", _form({}), SESSION, 303, actor="root"
    ),
    ("POST", "/admin/review/{name}/reject/"): RouteCall(
        f"/admin/review/{PROJECT}/reject/",
        _form({"reason": "typosquat"}),
        SESSION,
        303,
        actor="root",
    ),
    ("POST", "/admin/review/{name}/clear/"): RouteCall(
        f"/admin/review/{PROJECT}/clear/", _form({}), SESSION, 303, actor="root"
    ),
    ("POST", "/admin/review/{name}/quarantine/"): RouteCall(
        f"/admin/review/{PROJECT}/quarantine/",
        _form({"reason": "malware"}),
        SESSION,
        303,
        actor="root",
    ),
    ("POST", "/admin/review/{name}/remove/"): RouteCall(
        f"/admin/review/{PROJECT}/remove/",
        _form({"reason": "malware", "forbid": "1"}),
        SESSION,
        303,
        actor="root",
    ),
    ("POST", "/manage/project/{name}/collaborators/{username}/role/"): RouteCall(
        f"/manage/project/{PROJECT}/collaborators/carol/role/",
        _form({"role": "Owner"}),
        SESSION,
        303,
    ),
    ("POST", "/manage/project/{name}/collaborators/{username}/remove/"): RouteCall(
        f"/manage/project/{PROJECT}/collaborators/carol/remove/", _form({}), SESSION, 303
    ),
    ("POST", "/manage/project/{name}/invitations/{username}/revoke/"): RouteCall(
        f"/manage/project/{PROJECT}/invitations/erin/revoke/", _form({}), SESSION, 303
    ),
}

# State-changing routes that act on an account or a session, never on a project.
NOT_PROJECT_ACTIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/account/register/"),
        ("POST", "/account/verify-email/resend/"),
        ("POST", "/account/login/"),
        ("POST", "/account/login/two-factor/totp/"),
        ("POST", "/account/login/two-factor/recovery/"),
        ("POST", "/account/login/two-factor/webauthn/options/"),
        ("POST", "/account/login/two-factor/webauthn/verify/"),
        ("POST", "/account/logout/"),
        ("POST", "/account/reauth/"),
        ("POST", "/account/reauth/webauthn/options/"),
        ("POST", "/account/reauth/webauthn/verify/"),
        ("POST", "/account/email/"),
        ("POST", "/account/password/"),
        ("POST", "/account/password/reset/"),
        ("POST", "/account/password/reset/{token}/"),
        ("POST", "/account/tokens/{token_id}/revoke/"),  # takes power away, never gives it
        ("POST", "/account/two-factor/totp/"),
        ("POST", "/account/two-factor/totp/confirm/"),
        ("POST", "/account/two-factor/totp/remove/"),
        ("POST", "/account/two-factor/keys/options/"),
        ("POST", "/account/two-factor/keys/verify/"),
        ("POST", "/account/two-factor/keys/{key_id}/remove/"),
        ("POST", "/account/two-factor/recovery-codes/"),
        ("POST", "/account/two-factor/recovery-codes/confirm/"),
        ("POST", "/account/security-keys/giveaway/"),
        # A malware report changes nothing of the project; the automatic quarantine trusted
        # reports may cause is the index's decision and only takes power away. The project is
        # named in the body, so these paths name none.
        ("POST", "/report/"),
        ("POST", "/api/reports"),
        ("POST", "/admin/users/{username}/trusted-reporter/"),  # a role on an account
        # Origin rules are index policy set by admins (names and patterns, not a project's files).
        ("POST", "/admin/origins/"),
        ("POST", "/admin/origins/clear/"),
        # Name protection's lists are index policy set by admins too: they judge names not yet
        # created; granting, prohibiting or protecting a word changes no existing project.
        ("POST", "/admin/names/grants/"),
        ("POST", "/admin/names/grants/revoke/"),
        ("POST", "/admin/names/prohibited/"),
        ("POST", "/admin/names/prohibited/remove/"),
        ("POST", "/admin/names/words/"),
        ("POST", "/admin/names/words/remove/"),
        # The invitee answers an owner's invitation (the owner's invite passed the mandate);
        # every later action of theirs on the project meets the mandate itself.
        ("POST", "/account/invitations/{invitation_id}/accept/"),
        ("POST", "/account/invitations/{invitation_id}/decline/"),
    }
)

# Routes that declare no methods (mounts, the fast read path): they must refuse writes.
READ_ONLY_PREFIXES: dict[str, str] = {
    "/simple": f"/simple/{PROJECT}/",
    "/files": f"/files/ab/cd/abcd/{WHEEL_1_0}",
    "/static": "/static/bastion.css",
}
PROJECT_HINTS = (
    "{name}",
    "{version}",
    "{filename}",
    "/legacy",
    "/manage/",
    "/api/projects/",
    "/admin/deleted/",
    "/admin/review/",
)


def mentions_a_project(path: str) -> bool:
    return any(hint in path for hint in PROJECT_HINTS)


def app_routes(app: Bastion) -> tuple[set[tuple[str, str]], set[str]]:
    """(every (method, path) of a state-changing route; prefixes of routes without methods)."""
    changing: set[tuple[str, str]] = set()
    methodless: set[str] = set()
    for route in [*iter_route_contexts(app.web.routes), *app.fast_routes]:
        path = getattr(route, "path", None) or getattr(route, "prefix", None)
        assert path, f"a route with neither path nor prefix: {route!r}"
        methods = getattr(route, "methods", None)
        if not methods:
            methodless.add(path)
            continue
        changing.update((m, path) for m in methods if m in STATE_CHANGING)
    return changing, methodless


async def test_every_state_changing_route_is_classified(
    app: Bastion, client: httpx.AsyncClient
) -> None:
    changing, methodless = app_routes(app)
    unclassified = changing - PROJECT_ROUTES.keys() - NOT_PROJECT_ACTIONS
    assert not unclassified, (
        f"state-changing routes not in the mandate route table: {sorted(unclassified)}; add "
        "each to PROJECT_ROUTES (how to call it) or, if it never acts on a project, to "
        "NOT_PROJECT_ACTIONS"
    )
    misfiled = {key for key in NOT_PROJECT_ACTIONS if mentions_a_project(key[1])}
    assert not misfiled, f"routes that mention a project cannot be exempt: {sorted(misfiled)}"
    assert not PROJECT_ROUTES.keys() & NOT_PROJECT_ACTIONS
    stale = (PROJECT_ROUTES.keys() | NOT_PROJECT_ACTIONS) - changing
    assert not stale, f"table entries for routes the app no longer has: {sorted(stale)}"
    assert methodless == set(READ_ONLY_PREFIXES), "a route without methods: classify it"
    for url in READ_ONLY_PREFIXES.values():
        for method in sorted(STATE_CHANGING):
            response = await client.request(method, url)
            assert response.status_code == 405, (method, url, response.status_code)


ROUTE_IDS = [f"{m} {p}" for m, p in PROJECT_ROUTES]


async def call(world: World, key: tuple[str, str], auth: str) -> httpx.Response:
    route = PROJECT_ROUTES[key]
    world.client.cookies.clear()
    headers = AUTH_METHODS[auth](world, route.actor)
    kwargs = route.body(world, route.actor)
    return await world.client.request(key[0], route.url, headers=headers, **kwargs)


def assert_not_let_in(response: httpx.Response, auth: str) -> None:
    """A method the route does not accept: sent to sign in, or refused, never served."""
    if response.status_code == 303:
        assert response.headers["location"].startswith("/account/login/"), (auth, response)
    else:
        assert response.status_code in (401, 403), (auth, response.status_code, response.text)


@pytest.mark.parametrize("scope", ["critical", "all"])
@pytest.mark.parametrize("key", list(PROJECT_ROUTES), ids=ROUTE_IDS)
async def test_refused_without_two_factor_and_nothing_changes(
    services: Services,
    client: httpx.AsyncClient,
    clock: MovableClock,
    tmp_path: Path,
    key: tuple[str, str],
    scope: str,
) -> None:
    """``critical``: the project is critical; ``all``: it is not, but the scope is every
    project (BASTION_MANDATE_SCOPE=all). Every way of authenticating in turn, on one
    world: a refused call changes nothing, so each meets the same index (checked)."""
    world = await build_world(services, client, clock, tmp_path, critical=scope == "critical")
    services.settings = services.settings.model_copy(update={"mandate_scope": scope})
    before = await snapshot(services)
    for auth in AUTH_METHODS:
        response = await call(world, key, auth)
        if auth in PROJECT_ROUTES[key].auth:
            assert response.status_code == 403, (auth, response.text)
            text = " ".join(response.text.split())
            assert "two-factor authentication" in text, (auth, response.text)
        else:
            assert_not_let_in(response, auth)
        assert await snapshot(services) == before, f"a refused call ({auth}) changed the index"


POSITIVE = [(key, auth) for key, route in PROJECT_ROUTES.items() for auth in sorted(route.auth)]


@pytest.mark.parametrize(
    ("key", "auth"), POSITIVE, ids=[f"{m} {p} [{a}]" for (m, p), a in POSITIVE]
)
async def test_positive_control(
    services: Services,
    client: httpx.AsyncClient,
    clock: MovableClock,
    tmp_path: Path,
    key: tuple[str, str],
    auth: str,
) -> None:
    """The same call succeeds with a second factor on the critical project; a password
    (which accounts with 2FA may not use) succeeds on a project the mandate does not cover."""
    world = await build_world(services, client, clock, tmp_path, critical=auth != "password")
    if auth != "password":
        actor = PROJECT_ROUTES[key].actor
        await world.enable_totp(actor)
        clock.advance(timedelta(seconds=1))
        await world.credentials(actor)  # a token made after 2FA was enabled
    before = await snapshot(services)
    response = await call(world, key, auth)
    assert response.status_code == PROJECT_ROUTES[key].ok, response.text
    assert await snapshot(services) != before


async def test_password_of_an_account_with_two_factor_cannot_change_a_project(
    services: Services,
    client: httpx.AsyncClient,
    clock: MovableClock,
    tmp_path: Path,
) -> None:
    """Why the password positive control runs without 2FA: with 2FA, tokens only."""
    world = await build_world(services, client, clock, tmp_path, critical=True)
    await world.enable_totp("alice")
    before = await snapshot(services)
    for key, route in PROJECT_ROUTES.items():
        if "password" in route.auth:
            response = await call(world, key, "password")
            assert response.status_code == 403 and "API token" in response.text, response.text
    assert await snapshot(services) == before


async def test_token_created_before_two_factor_is_refused_on_every_token_route(
    services: Services,
    client: httpx.AsyncClient,
    clock: MovableClock,
    tmp_path: Path,
) -> None:
    world = await build_world(services, client, clock, tmp_path, critical=True)
    clock.advance(timedelta(seconds=1))
    await world.enable_totp("alice")  # alice's token predates her second factor
    before = await snapshot(services)
    for key, route in PROJECT_ROUTES.items():
        if "token" in route.auth:
            response = await call(world, key, "token")
            assert response.status_code == 403, response.text
            assert "create a new API token" in response.text, response.text
    assert await snapshot(services) == before
