"""HTTP Basic authentication: header parsing, password check, the 401 challenge."""

from __future__ import annotations

import base64

import pytest

from bastion.accounts.auth import (
    AuthenticationRequired,
    Principal,
    authenticate,
    parse_basic,
)
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.types import MakeUser


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def authenticate_header(services: Services, authorization: str) -> Principal:
    """``authenticate`` with the test services' database, settings, clock and hasher."""
    return await authenticate(
        services.db,
        authorization,
        settings=services.settings,
        clock=services.clock,
        passwords=services.passwords,
    )


def test_parse_basic_splits_on_the_first_colon() -> None:
    creds = parse_basic(basic("alice", "pa:ss"))
    assert (creds.username, creds.password) == ("alice", "pa:ss")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication required: send a username and password."),
        ("Bearer abc", "Authentication required: use HTTP Basic authentication."),
        ("Basic !!!notbase64", "Malformed Basic authentication header."),
        (
            "Basic " + base64.b64encode(b"no-colon").decode(),
            "Malformed Basic authentication header.",
        ),
    ],
)
def test_bad_headers_get_a_401_challenge(header: str | None, message: str) -> None:
    with pytest.raises(AuthenticationRequired) as excinfo:
        parse_basic(header)
    assert excinfo.value.status_code == 401
    assert excinfo.value.message == message
    assert excinfo.value.headers == {"WWW-Authenticate": 'Basic realm="Bastion"'}


async def test_right_password_gives_a_principal(services: Services, make_user: MakeUser) -> None:
    user = await make_user("alice")
    principal = await authenticate_header(services, basic("ALICE", PASSWORD))
    assert isinstance(principal, Principal)
    assert principal.user.id == user.id
    assert principal.token_id is None and principal.method == "password"


@pytest.mark.parametrize(("user", "password"), [("alice", "wrong"), ("nobody", PASSWORD)])
async def test_wrong_password_or_unknown_user_look_the_same(
    services: Services, make_user: MakeUser, user: str, password: str
) -> None:
    await make_user("alice")
    with pytest.raises(AuthenticationRequired) as excinfo:
        await authenticate_header(services, basic(user, password))
    assert excinfo.value.message == "Invalid or non-existent authentication information."


async def test_inactive_user_is_refused(services: Services, make_user: MakeUser) -> None:
    user = await make_user("alice")
    async with services.db.transaction() as session:
        (await session.get(type(user), user.id)).is_active = False  # type: ignore[union-attr]
    with pytest.raises(AuthenticationRequired):
        await authenticate_header(services, basic("alice", PASSWORD))
