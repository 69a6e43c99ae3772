"""The upload pipeline without HTTP: ``publish`` takes plain values and returns its warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.audit.events import RequestContext
from bastion.errors import BadRequest, Forbidden
from bastion.packaging.publish import publish
from bastion.services import Services
from tests.support.dists import make_sdist, make_wheel
from tests.support.types import MakeUser
from tests.support.web import count_rows, pipeline, received_form

CONTEXT = RequestContext(ip_address="192.0.2.1", user_agent="tests")


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    user: User = await make_user("alice")
    return user


async def test_publish_stores_the_file_and_returns_what_it_did(
    services: Services, alice: User, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "Demo", "1.0")
    result = await publish(
        pipeline(services), Principal(alice), received_form(wheel), context=CONTEXT
    )
    assert result.upload.filename == wheel.name
    assert (result.upload.project_name, result.upload.version) == ("Demo", "1.0")
    assert result.upload.created_project and result.warnings == ()
    assert await count_rows(services) == {
        "projects": 1,
        "releases": 1,
        "files": 1,
        "filename_registry": 1,
    }


async def test_publish_returns_the_mandate_warnings(
    services: Services, alice: User, tmp_path: Path
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_scope": "all"})
    sdist = make_sdist(tmp_path, "demo", "1.0")
    result = await publish(
        pipeline(services), Principal(alice), received_form(sdist), context=CONTEXT
    )
    assert len(result.warnings) == 1
    assert "two-factor authentication will be required soon" in result.warnings[0]


async def test_publish_refuses_at_the_first_failing_step(
    services: Services, alice: User, tmp_path: Path, make_user: MakeUser
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    with pytest.raises(BadRequest, match=r"Version in filename should be '1\.1'"):
        await publish(
            pipeline(services),
            Principal(alice),
            received_form(wheel, version="1.1"),
            context=CONTEXT,
        )
    await publish(pipeline(services), Principal(alice), received_form(wheel), context=CONTEXT)
    bob = await make_user("bob")
    other = make_wheel(tmp_path, "demo", "2.0")
    with pytest.raises(Forbidden, match="isn't allowed to upload to project 'demo'"):
        await publish(pipeline(services), Principal(bob), received_form(other), context=CONTEXT)
    assert (await count_rows(services))["files"] == 1
