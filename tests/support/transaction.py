"""Call a domain function the way a route or a command does: in a transaction of its own."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bastion.services import Services

T = TypeVar("T")


async def in_transaction(
    services: Services,
    call: Callable[..., Awaitable[T]],
    /,
    *args: Any,
    **kwargs: Any,
) -> T:
    """``call(session, *args, **kwargs)`` in one transaction, committed when it returns.

    The services' ``settings``, ``clock``, ``store`` and ``now`` are passed too, those of
    them ``call`` takes (``kwargs`` win), so a test writes only what it is about.
    """
    params = inspect.signature(call).parameters
    given: dict[str, Any] = {
        "settings": services.settings,
        "clock": services.clock,
        "store": services.store,
        "now": services.clock.now(),
    }
    kwargs = {name: value for name, value in given.items() if name in params} | kwargs
    async with services.db.transaction() as session:
        return await call(session, *args, **kwargs)
