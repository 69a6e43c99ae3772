"""The upload route goes through the mandate gate: warnings before the date, 403 after."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bastion.accounts.models import User
from bastion.accounts.tokens import create_token
from bastion.clock import MovableClock, today
from bastion.services import Services
from tests.support.dists import make_wheel
from tests.support.factories import add_project
from tests.support.types import MakeUser
from tests.support.web import store_state, upload

URL = "http://testserver/account/two-factor/"


async def setup(services: Services, make_user: MakeUser, enforced: date | None) -> User:
    alice: User = await make_user("alice")
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": enforced})
    # Alice's project, critical: uploading to it is what the mandate covers.
    await add_project(services, "guarded", alice, critical=True)
    return alice


async def test_upload_warns_before_the_date(
    services: Services,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    tmp_path: Path,
    enable_2fa: Any,
    clock: MovableClock,
) -> None:
    enforced = today(clock) + timedelta(days=10)
    await setup(services, make_user, enforced)
    response = await upload(client, make_wheel(tmp_path, "guarded", "1.0"))
    assert response.status_code == 200, response.text
    assert (
        f"WARNING: project guarded is critical: two-factor authentication will be "
        f"required from {enforced.isoformat()}; enable it at {URL}"
    ) in response.text


async def test_upload_refused_after_the_date_unless_2fa(
    services: Services,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    tmp_path: Path,
    enable_2fa: Any,
    clock: MovableClock,
) -> None:
    alice = await setup(services, make_user, today(clock))
    wheel = make_wheel(tmp_path, "guarded", "1.0")
    before = await store_state(services)
    response = await upload(client, wheel)
    assert response.status_code == 403
    assert await store_state(services) == before
    assert f"project guarded is critical: enable two-factor authentication at {URL}" in (
        response.text
    )
    await enable_2fa(alice)  # with a second factor, uploads use an API token
    async with services.db.transaction() as session:
        token, _ = await create_token(
            session, services.clock, services.settings, user=alice, name="ci"
        )
    response = await upload(client, wheel, user="__token__", password=token)
    assert response.status_code == 200, response.text
    assert "WARNING" not in response.text
