"""Stopping background tasks, also those that lose a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from bastion.tasks import cancel

pytestmark = pytest.mark.one_backend


async def test_a_task_that_swallows_a_cancellation_is_still_stopped() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # what wait_for does on Python 3.11 when its inner just ended

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel(task), 5)
    assert task.cancelled() and swallowed == 1


async def test_a_task_that_ended_or_failed_or_none() -> None:
    async def fail() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fail())
    await asyncio.sleep(0)
    await cancel(task)  # its error was the task's business: logged by it, not raised here
    await cancel(None)
