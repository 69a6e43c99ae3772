"""Stopping background tasks."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended.

    Cancelled again while it runs on: on Python 3.11 an ``asyncio.wait_for`` whose inner
    awaitable finishes at the moment of the cancellation returns its result and loses the
    cancellation (fixed in 3.12), which would leave a loop task, and its stopper, running
    forever.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
