"""``bastion names ...`` against the test database: the contract the maintainers script."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner, Result

from bastion.audit.models import AuditEvent
from bastion.cli import app as cli_app
from bastion.services import Services
from tests.support.types import CliRun, MakeUser


async def test_check_json_one_object_a_line(cli: CliRun) -> None:
    result = await cli("names", "check", "--json", "reqeusts", "my-little-tool", "os")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["name"], o["verdict"]) for o in lines] == [
        ("reqeusts", "review"),
        ("my-little-tool", "allow"),
        ("os", "block"),
    ]
    assert lines[0]["reasons"] == [
        {"rule": "typo", "similar_to": "requests", "detail": "two adjacent letters swapped"}
    ]
    assert set(lines[2]["reasons"][0]) == {"rule", "similar_to", "detail"}


async def test_check_reads_stdin(services: Services, cli: CliRun) -> None:
    env = {
        "BASTION_DATA_DIR": str(services.settings.data_dir),
        "BASTION_DATABASE_URL": services.settings.resolved_database_url,
        "BASTION_SECRET_KEY": services.settings.secret_key,
    }

    def run() -> Result:
        return CliRunner().invoke(
            cli_app,
            ["names", "check", "--json", "-"],
            input="colorrama\n\nacme-widgets\n",
            env=env,
        )

    result = await asyncio.to_thread(run)
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line)["verdict"] for line in result.output.splitlines()]
    assert verdicts == ["review", "allow"]
    plain = await cli("names", "check", "colorrama")
    assert plain.output.startswith("colorrama\treview\ttypo: colorama")


async def test_prohibit_grant_revoke(cli: CliRun, make_user: MakeUser, services: Services) -> None:
    await make_user("acme")
    assert (await cli("names", "prohibit", "Evil_Pkg", "--reason", "malware")).output == (
        "evil-pkg is prohibited\n"
    )
    assert (await cli("names", "prohibited")).output == "evil-pkg\n"
    check = await cli("names", "check", "--json", "evil.pkg")
    assert json.loads(check.output)["verdict"] == "block"
    assert (await cli("names", "grant", "acme", "acme")).output == (
        "acme (restricted) is granted to acme\n"
    )
    assert (await cli("names", "grant", "acme", "acme", "--open")).exit_code == 0
    assert (await cli("names", "grants")).output == "acme\tacme\topen\n"
    assert (await cli("names", "revoke", "acme")).output == "acme is no longer granted\n"
    missing = await cli("names", "grant", "other", "nobody")
    assert missing.exit_code == 1 and "No user is called 'nobody'" in missing.output
    async with services.db.session() as session:
        tags = set(await session.scalars(select(AuditEvent.tag)))
    assert {"names:prohibit", "names:grant", "names:revoke"} <= tags


async def test_update_popular_replaces_the_list(cli: CliRun, tmp_path: Path) -> None:
    listing = tmp_path / "top.tsv"
    listing.write_text("rank\tname\n1\tZz_Frobnicatorr\n2\tsix\n")
    result = await cli("names", "update-popular", str(listing))
    assert result.exit_code == 0, result.output
    assert result.output == "2 popular names loaded (revision 1)\n"
    check = await cli("names", "check", "--json", "zzfrobnicator", "reqeusts")
    assert [json.loads(line)["verdict"] for line in check.output.splitlines()] == [
        "review",
        "allow",
    ]
    bad = tmp_path / "bad.tsv"
    bad.write_text("rank\tname\none\trequests\n")
    refused = await cli("names", "update-popular", str(bad))
    assert refused.exit_code == 1 and "RANK<TAB>NAME" in refused.output
