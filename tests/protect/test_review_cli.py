"""``bastion review``: the queue and every decision from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bastion.services import Services
from tests.protect.demonstrators import malicious_wheel
from tests.protect.detectors import ExpectingJudge, FixedScanner, malicious_report, review
from tests.support.audit import audit_tags
from tests.support.dists import make_wheel
from tests.support.protect import hidden, seen, served
from tests.support.types import CliRun, MakeUser, PostUpload


@pytest.fixture
def judge() -> ExpectingJudge:
    """Names are not under test here: only the expected verdicts, never the real judge's."""
    return ExpectingJudge(real=False)


async def _queue(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    judge: ExpectingJudge,
    scanner: FixedScanner,
) -> None:
    """``requests`` held for its name; ``stealer`` quarantined by a malicious upload."""
    await make_user("alice")
    judge.expected["requests"] = review("requests", "requests")
    assert (await post_upload(make_wheel(tmp_path, "requests", "99.0"))).status_code == 200
    wheel = malicious_wheel(tmp_path, "stealer", "1.0")
    scanner.verdicts[wheel.name] = malicious_report(wheel.name)
    assert (await post_upload(wheel)).status_code == 200


async def test_list_show_and_decide(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    judge: ExpectingJudge,
    scanner: FixedScanner,
    cli: CliRun,
    client: httpx.AsyncClient,
) -> None:
    await _queue(services, make_user, post_upload, tmp_path, judge, scanner)

    listed = await cli("review", "list", "--json")
    assert listed.exit_code == 0, listed.output
    items = [json.loads(line) for line in listed.output.splitlines()]
    assert [i["project"] for i in items] == ["stealer", "requests"]  # malicious first
    assert items[0]["scans"] == {"malicious": 1} and items[1]["held_name"] is True
    text = await cli("review", "list")
    assert "stealer\tquarantined\t1 malicious" in text.output

    shown = await cli("review", "show", "stealer")
    assert shown.exit_code == 0, shown.output
    assert "install-time-exfiltration" in shown.output and "urlopen(" in shown.output
    as_json = json.loads((await cli("review", "show", "stealer", "--json")).output)
    assert as_json["scans"][0]["verdict"] == "malicious"

    approved = await cli("review", "approve", "requests", "--reason", "ours")
    assert approved.exit_code == 0, approved.output
    assert approved.output.startswith("approve requests: name approved; project served")
    services.pages.clear()
    assert served(await seen(client, services, "requests"))

    cleared = await cli("review", "clear", "stealer", "--reason", "false positive")
    assert cleared.exit_code == 0, cleared.output
    services.pages.clear()
    assert served(await seen(client, services, "stealer"))

    again = await cli("review", "quarantine", "stealer", "--reason", "it was bad after all")
    assert again.exit_code == 0, again.output
    services.pages.clear()
    assert hidden(await seen(client, services, "stealer"))

    removed = await cli("review", "remove", "stealer", "--reason", "malware", "--forbid")
    assert removed.exit_code == 0, removed.output
    assert "name reserved" in removed.output
    reserved = await cli("review", "reserved")
    assert "stealer\toperator:cli\tremove: malware" in reserved.output

    assert (await cli("review", "list")).output.strip() == "nothing to review"
    tags = await audit_tags(services, prefix="protect:")
    for tag in ("approve", "clear", "quarantine", "remove"):
        assert f"protect:review-{tag}" in tags


async def test_errors_exit_1_with_a_message(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    judge: ExpectingJudge,
    scanner: FixedScanner,
    cli: CliRun,
) -> None:
    await _queue(services, make_user, post_upload, tmp_path, judge, scanner)
    missing = await cli("review", "show", "nothere")
    assert missing.exit_code == 1 and "no project named 'nothere'" in missing.output
    not_held = await cli("review", "approve", "stealer")
    assert not_held.exit_code == 1 and "not waiting for review" in not_held.output
    no_reason = await cli("review", "reject", "requests", "--reason", " ")
    assert no_reason.exit_code == 1 and "Give a reason" in no_reason.output
    rejected = await cli("review", "reject", "requests", "--reason", "dependency confusion")
    assert rejected.exit_code == 0, rejected.output


async def test_trusted_reporters(services: Services, make_user: MakeUser, cli: CliRun) -> None:
    await make_user("carol")
    granted = await cli("review", "trust", "carol")
    assert granted.output.strip() == "carol is now a trusted reporter"
    assert (await cli("review", "trust", "carol")).output.strip() == (
        "carol is already a trusted reporter"
    )
    assert (await cli("review", "distrust", "carol")).output.strip() == (
        "carol is no longer a trusted reporter"
    )
    assert (await cli("review", "distrust", "carol")).output.strip() == (
        "carol was not a trusted reporter"
    )
    missing = await cli("review", "trust", "nobody")
    assert missing.exit_code == 1
