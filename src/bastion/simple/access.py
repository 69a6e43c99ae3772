"""The private index on the read path: credentials checked before anything is served.

Off by default (``BASTION_PRIVATE_INDEX``); when on, a warm request with a credential
verified in the last ``read_token_cache_seconds`` costs one hash and one dict lookup.
"""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.types import Receive, Scope, Send

from bastion.accounts.read_access import ReadAccess, ReadGrant
from bastion.accounts.sessions import COOKIE_NAME
from bastion.errors import BastionError
from bastion.serve.errors import plain_error
from bastion.services import Services


def read_access(services: Services) -> ReadAccess | None:
    """This process's table of verified read credentials; None for a public index."""
    if not services.settings.private_index:
        return None
    if services.read_access is None:
        services.read_access = ReadAccess(services.settings, services.db, services.clock)
    return services.read_access


def forget_read_token(services: Services, token_id: int) -> None:
    """After a revocation in this process: drop the token's cached grant at once."""
    if services.read_access is not None:
        services.read_access.drop_token(token_id)


def credentials(scope: Scope) -> tuple[str | None, str | None]:
    """The Authorization header and the session cookie of a request."""
    authorization = cookie = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value.decode("latin-1")
        elif key == b"cookie":
            cookie = cookie_parser(value.decode("latin-1")).get(COOKIE_NAME)
    return authorization, cookie


async def admit(
    access: ReadAccess,
    scope: Scope,
    receive: Receive,
    send: Send,
    name: str | None,
) -> ReadGrant | None:
    """The grant when the request may read ``name`` (None: the whole index); otherwise
    answer 401/403 and return None."""
    try:
        grant = await access.grant(*credentials(scope))
        if name is None:
            grant.check_unlimited("the list of every project")
        else:
            grant.check(name)
    except BastionError as exc:
        await plain_error(exc.status_code, exc.message, getattr(exc, "headers", None))(
            scope, receive, send
        )
        return None
    return grant
