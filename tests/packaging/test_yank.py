"""Yank and un-yank: the service, the JSON API with API tokens, and the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bastion.accounts.tokens import create_token
from bastion.errors import BadRequest, Conflict, Forbidden, NotFound
from bastion.packaging.changes import Operator
from bastion.packaging.models import Role
from bastion.packaging.yank import unyank_release, yank_release
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.index import Index, as_user
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser


async def simple_yanked(index: Index, name: str) -> dict[str, object]:
    response = await index.client.get(
        f"/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    return {f["filename"]: f.get("yanked", False) for f in response.json()["files"]}


async def test_maintainer_yanks_and_unyanks_with_a_reason(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    carol = await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    await index.add_role("demo", carol, Role.MAINTAINER)

    result = await in_transaction(
        services, yank_release, "demo", "1.0", by=as_user(carol), reason="broken"
    )
    assert result.yanked and result.reason == "broken"
    assert await simple_yanked(index, "demo") == {"demo-1.0-py3-none-any.whl": "broken"}

    await in_transaction(services, unyank_release, "demo", "1.0", by=as_user(carol))
    assert await simple_yanked(index, "demo") == {"demo-1.0-py3-none-any.whl": False}


async def test_yank_refusals_change_nothing(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await index.publish("demo", "1.0", sdist=False)
    before = await index.snapshot()
    with pytest.raises(BadRequest, match="Give a reason for yanking"):
        await in_transaction(services, yank_release, "demo", "1.0", by=as_user(alice), reason=" ")
    with pytest.raises(Forbidden, match="The user 'bob' isn't allowed to yank releases of"):
        await in_transaction(
            services, yank_release, "demo", "1.0", by=as_user(bob), reason="mine now"
        )
    with pytest.raises(NotFound, match=r"has no release '9\.0'"):
        await in_transaction(services, yank_release, "demo", "9.0", by=as_user(alice), reason="x")
    with pytest.raises(Conflict, match="is not yanked"):
        await in_transaction(services, unyank_release, "demo", "1.0", by=as_user(alice))
    with pytest.raises(BadRequest, match="too long"):
        await in_transaction(
            services, yank_release, "demo", "1.0", by=as_user(alice), reason="x" * 1001
        )
    assert await index.snapshot() == before
    await in_transaction(services, yank_release, "demo", "1.0", by=Operator(), reason="first")
    before = await index.snapshot()
    with pytest.raises(Conflict, match="already yanked"):
        await in_transaction(
            services, yank_release, "demo", "1.0", by=as_user(alice), reason="again"
        )
    assert await index.snapshot() == before


async def test_yank_json_api_with_an_api_token(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_user("bob")
    await index.publish("demo", "1.0", sdist=False)
    async with services.db.transaction() as session:
        secret, _ = await create_token(
            session,
            services.clock,
            services.settings,
            user=alice,
            name="ci",
            project=None,
            expires_days=None,
        )
    url = "/api/projects/demo/releases/1.0/yank"

    response = await index.client.post(
        url, json={"reason": "CVE-2024-1"}, auth=("__token__", secret)
    )
    assert response.status_code == 200, response.text
    assert response.json()["yanked"] is True and response.json()["reason"] == "CVE-2024-1"
    assert await simple_yanked(index, "demo") == {"demo-1.0-py3-none-any.whl": "CVE-2024-1"}

    before = await index.snapshot()
    refused = await index.client.post(url, json={"reason": "x"}, auth=("bob", PASSWORD))
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "The user 'bob' isn't allowed to yank releases of project 'demo'."
    )
    bad = await index.client.post(url, content=b"not json", auth=("__token__", secret))
    assert bad.status_code == 400 and "JSON object" in bad.json()["message"]
    anonymous = await index.client.post(url, json={"reason": "x"})
    assert anonymous.status_code == 401
    after = await index.snapshot()
    # Only the token's use was audited; nothing else changed.
    assert after.pop("counts")["journal_entries"] == before.pop("counts")["journal_entries"]
    assert after == before

    response = await index.client.post(
        "/api/projects/demo/releases/1.0/unyank", auth=("__token__", secret)
    )
    assert response.status_code == 200 and response.json()["yanked"] is False


async def test_cli_yank_changes_the_release(
    index: Index, services: Services, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    from bastion.cli import app

    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    monkeypatch.setenv("BASTION_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("BASTION_DATABASE_URL", services.settings.database_url)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    out = await anyio.to_thread.run_sync(
        lambda: invoke("project", "yank", "ghost", "1.0", "--reason", "x", code=1)
    )
    assert "There is no project named 'ghost'" in out
    await anyio.to_thread.run_sync(lambda: invoke("project", "yank", "demo", "1.0", code=2))

    out = await anyio.to_thread.run_sync(
        invoke, "project", "yank", "demo", "1.0", "--reason", "bad build"
    )
    assert "yanked demo 1.0: bad build" in out
    services.pages.invalidate("demo")
    assert await simple_yanked(index, "demo") == {"demo-1.0-py3-none-any.whl": "bad build"}
    await anyio.to_thread.run_sync(invoke, "project", "unyank", "demo", "1.0")
    services.pages.invalidate("demo")
    assert await simple_yanked(index, "demo") == {"demo-1.0-py3-none-any.whl": False}
