"""Issue 10, items 1 and 2: guessing limits hold under real concurrency.

Two live servers (two "workers": separate event loops and connection pools) share the test
database; 100 requests are fired at once, alternating between them. On PostgreSQL
(``BASTION_TEST_DB=postgresql``) they truly overlap; on SQLite the writers are serialised.
Either way no more guesses may be *evaluated* than the per-account limit allows; the rest
get 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import func, select

from bastion.accounts.limit_models import AuthAttempt
from bastion.accounts.models import User
from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer, free_port, run_live_server
from tests.support.twofactor import confirm_totp, start_totp, wrong_code
from tests.support.types import MakeUser

SECRET = pyotp.random_base32()
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
FIRED = 100


@pytest.fixture
def workers(
    settings: Settings, clock: MovableClock, services: Services
) -> Iterator[list[LiveServer]]:
    """Two live servers on one database (``services`` made the schema)."""
    ports = [free_port(), free_port()]
    # Both answer as one site: the session cookie and CSRF token work on either.
    base = f"http://127.0.0.1:{ports[0]}"
    # Scaled out: the daily jobs run from cron, not in each worker.
    # Bounded pools, as in production, small enough that two servers and the other test
    # worker stay under PostgreSQL's max_connections (100 here).
    one = settings.model_copy(
        update={
            "base_url": base,
            "embedded_jobs": False,
            "database_pool_size": 5,
            "database_max_overflow": 5,
        }
    )
    with (
        run_live_server(one, clock, ports[0], pooled=True) as first,
        run_live_server(one, clock, ports[1], pooled=True) as second,
    ):
        second.url = f"http://127.0.0.1:{ports[1]}"
        yield [first, second]


async def _two_factor_user(services: Services, make_user: MakeUser, clock: MovableClock) -> User:
    user: User = await make_user("alice")
    await start_totp(services, user, secret=SECRET)
    await confirm_totp(services, user, pyotp.TOTP(SECRET).at(clock.now()))
    clock.advance(timedelta(seconds=60))
    return user


async def _pending_session(client: httpx.AsyncClient, server: LiveServer) -> tuple[str, str]:
    """Sign in with the password on ``server``: the session cookie and its CSRF token."""
    page = await client.get(f"{server.url}/account/login/")
    token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    response = await client.post(
        f"{server.url}/account/login/",
        data={"csrf_token": token, "username": "alice", "password": PASSWORD},
    )
    assert response.status_code == 303, response.text
    chooser = await client.get(f"{server.url}/account/login/two-factor/")
    return client.cookies["bastion_session"], CSRF_RE.search(chooser.text).group(1)  # type: ignore[union-attr]


async def _fire(requests: list[tuple[str, dict[str, object]]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=FIRED, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(*(client.post(url, **kw) for url, kw in requests))  # type: ignore[arg-type]


def _split(responses: list[httpx.Response], refused_status: set[int]) -> tuple[int, int]:
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= refused_status | {429}, statuses
    throttled = [r for r in responses if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) > 0 for r in throttled)
    return sum(n for s, n in statuses.items() if s != 429), len(throttled)


async def _failures(services: Services, user_id: int) -> int:
    async with services.db.session() as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.user_id == user_id, AuditEvent.tag == "2fa:failure")
            )
            or 0
        )


@pytest.mark.parametrize("kind", ["totp", "recovery", "webauthn"])
async def test_a_hundred_second_factor_guesses_at_once(
    workers: list[LiveServer],
    services: Services,
    make_user: MakeUser,
    clock: MovableClock,
    kind: str,
) -> None:
    user = await _two_factor_user(services, make_user, clock)
    async with httpx.AsyncClient(timeout=30) as client:
        cookie, token = await _pending_session(client, workers[0])
    headers = {"cookie": f"bastion_session={cookie}"}
    requests: list[tuple[str, dict[str, object]]] = []
    for n in range(FIRED):
        server = workers[n % 2]
        if kind == "webauthn":
            requests.append(
                (
                    f"{server.url}/account/login/two-factor/webauthn/verify/",
                    {
                        "json": {"credential": "not a credential"},
                        "headers": {**headers, "X-CSRF-Token": token},
                    },
                )
            )
        else:
            code = wrong_code(SECRET, clock.now()) if kind == "totp" else f"{n:016x}"
            requests.append(
                (
                    f"{server.url}/account/login/two-factor/{kind}/",
                    {"data": {"csrf_token": token, "code": code}, "headers": headers},
                )
            )

    responses = await _fire(requests)

    evaluated, throttled = _split(responses, {400, 401})
    assert evaluated == 5, evaluated  # twofactor_user_limits: 5 in 5 minutes, exactly
    assert throttled == FIRED - 5
    assert await _failures(services, user.id) == evaluated
    # The right code now waits too: the limit is on the account.
    async with httpx.AsyncClient(timeout=30) as client:
        right = await client.post(
            f"{workers[1].url}/account/login/two-factor/totp/",
            data={"csrf_token": token, "code": pyotp.TOTP(SECRET).at(clock.now())},
            headers=headers,
        )
    assert right.status_code == 429 and "Try again in" in right.text


async def test_a_hundred_passwords_at_once_on_the_sign_in_form(
    workers: list[LiveServer], services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    async with httpx.AsyncClient(timeout=30) as client:
        page = await client.get(f"{workers[0].url}/account/login/")
        token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
        cookie = client.cookies["bastion_session"]
    requests: list[tuple[str, dict[str, object]]] = [
        (
            f"{workers[n % 2].url}/account/login/",
            {
                "data": {"csrf_token": token, "username": "alice", "password": f"guess {n}"},
                "headers": {"cookie": f"bastion_session={cookie}"},
            },
        )
        for n in range(FIRED)
    ]

    responses = await _fire(requests)

    evaluated, _ = _split(responses, {401})
    assert evaluated == 10, evaluated  # password_user_limits: 10 in 5 minutes, exactly
    async with services.db.session() as session:
        hashed = await session.scalar(
            select(func.count())
            .select_from(AuthAttempt)
            .where(AuthAttempt.scope == "password", AuthAttempt.outcome == "failed")
        )
    assert hashed == evaluated
    # Even the right password now waits (and costs no hash).
    async with httpx.AsyncClient(timeout=30) as client:
        right = await client.post(
            f"{workers[1].url}/account/login/",
            data={"csrf_token": token, "username": "alice", "password": PASSWORD},
            headers={"cookie": f"bastion_session={cookie}"},
        )
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


def _basic(password: str) -> dict[str, str]:
    raw = base64.b64encode(f"alice:{password}".encode()).decode()
    return {"authorization": f"Basic {raw}"}


@pytest.mark.parametrize("path", ["/legacy/", "/api/projects/demo/releases/1.0/yank"])
async def test_a_hundred_basic_auth_passwords_at_once(
    workers: list[LiveServer], services: Services, make_user: MakeUser, path: str
) -> None:
    await make_user("alice")
    requests: list[tuple[str, dict[str, object]]] = [
        (f"{workers[n % 2].url}{path}", {"headers": _basic(f"guess {n}")}) for n in range(FIRED)
    ]

    responses = await _fire(requests)

    evaluated, _ = _split(responses, {401})
    assert evaluated == 10, evaluated
    right = (await _fire([(f"{workers[0].url}{path}", {"headers": _basic(PASSWORD)})]))[0]
    assert right.status_code == 429, right.text
    assert "Too many failed password attempts" in right.text
    assert int(right.headers["retry-after"]) > 0
