"""The malware scan on every upload: reports stored, malicious quarantines the project
(uploads frozen), suspicious is published or held by the setting, the version diff, and
review decisions that serve it again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bastion.config import Settings
from bastion.errors import Conflict
from bastion.packaging.changes import Operator
from bastion.packaging.models import File, Project
from bastion.protect.models import FileScan, ReservedName
from bastion.protect.review import clear, quarantine, remove_project, review_detail, review_queue
from bastion.protect.scan.report import Finding, ScanReport
from bastion.protect.status import ACTIVE, HELD, QUARANTINED
from bastion.services import Services
from tests.protect.demonstrators import malicious_wheel
from tests.protect.detectors import (
    ExpectingJudge,
    ExpectingScanner,
    FixedScanner,
    RecordingComparer,
    malicious_report,
    protection,
    review,
)
from tests.support.audit import audit_tags, mail_to
from tests.support.dists import make_wheel
from tests.support.protect import decide, hidden, seen, served
from tests.support.types import MakeUser, PostUpload

OPERATOR = Operator("test")


@pytest.fixture
def judge() -> ExpectingJudge:
    """Names are not under test here: only the expected verdicts, never the real judge's."""
    return ExpectingJudge(real=False)


async def _scans(services: Services) -> list[FileScan]:
    async with services.db.session() as session:
        return list(await session.scalars(select(FileScan).order_by(FileScan.id)))


async def _status(services: Services, name: str) -> tuple[str, list[str]]:
    async with services.db.session() as session:
        project = await session.scalar(select(Project).where(Project.normalized_name == name))
        assert project is not None
        files = list(await session.scalars(select(File.status).order_by(File.id)))
        return project.status, files


async def _mail(services: Services, address: str, count: int) -> list[tuple[str, str]]:
    """Mail sent after the upload's commit arrives a moment later."""
    for _ in range(100):
        box = mail_to(services, address)
        if len(box) >= count:
            return box
        await asyncio.sleep(0.02)
    return mail_to(services, address)


async def test_every_upload_gets_a_stored_report(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
) -> None:
    await make_user("alice")
    assert (await post_upload(make_wheel(tmp_path, "calm", "1.0"))).status_code == 200
    [scan] = await _scans(services)
    assert (scan.filename, scan.verdict, scan.action, scan.review_state) == (
        "calm-1.0-py3-none-any.whl",
        "clean",
        "published",
        "none",
    )
    assert await audit_tags(services, prefix="protect:") == []


async def test_malicious_upload_is_accepted_and_the_project_quarantined(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    services.protect = protection(
        scanner=ExpectingScanner({"stealer-2.0-py3-none-any.whl": "malicious"})
    )
    assert (await post_upload(make_wheel(tmp_path, "stealer", "1.0"))).status_code == 200
    response = await post_upload(malicious_wheel(tmp_path, "stealer", "2.0"))
    assert response.status_code == 200, response.text
    assert "OK: uploaded stealer-2.0-py3-none-any.whl" in response.text
    assert "malicious" in response.text and "quarantined" in response.text
    assert await _status(services, "stealer") == (QUARANTINED, [ACTIVE, QUARANTINED])
    # PyPI quarantines whole projects: the clean 1.0 is gone from view too.
    assert hidden(await seen(client, services, "stealer"))
    scan = (await _scans(services))[-1]
    assert (scan.verdict, scan.action, scan.review_state) == ("malicious", "quarantined", "pending")
    assert scan.findings and scan.findings[0]["rule"]
    assert scan.previous_filename == "stealer-1.0-py3-none-any.whl"
    assert await audit_tags(services, prefix="protect:") == ["protect:scan-malicious"]
    [(subject, body)] = await _mail(services, "alice@example.org", 1)
    assert subject == "stealer-2.0-py3-none-any.whl: the malware scan says malicious"
    assert "quarantined" in body

    # Uploads by its maintainers are frozen until reviewed (PEP 792).
    frozen = await post_upload(make_wheel(tmp_path, "stealer", "3.0"))
    assert frozen.status_code == 403
    assert "quarantined" in frozen.text and "refused" in frozen.text
    assert "protect:upload-refused" in await audit_tags(services, prefix="protect:")

    async with services.db.session() as session:
        [item] = await review_queue(session, trusted_weight=5)
        detail = (await review_detail(session, "stealer")).to_json()
    assert item.scans == {"malicious": 1} and item.status == QUARANTINED
    assert detail["scans"][0]["diff"]["previous"] == "stealer-1.0-py3-none-any.whl"
    assert detail["scans"][0]["findings"][0]["excerpt"]

    result = await decide(services, clear, "stealer", by=OPERATOR, reason="false positive")
    assert result.status == ACTIVE
    assert await _status(services, "stealer") == (ACTIVE, [ACTIVE, ACTIVE])
    assert served(await seen(client, services, "stealer"))
    assert (await _scans(services))[-1].review_state == "cleared"
    assert (await post_upload(make_wheel(tmp_path, "stealer", "3.0"))).status_code == 200


async def test_suspicious_is_published_and_queued_by_default(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    scanner: FixedScanner,
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    wheel = make_wheel(tmp_path, "iffy", "1.0")
    scanner.verdicts[wheel.name] = ScanReport(
        wheel.name,
        "suspicious",
        [Finding("network-at-import", "medium", "iffy/__init__.py", 1, "import socket")],
    )
    response = await post_upload(wheel)
    assert response.status_code == 200
    assert "published and queued for an administrator's review" in response.text
    assert served(await seen(client, services, "iffy"))
    [scan] = await _scans(services)
    assert (scan.verdict, scan.action, scan.review_state) == ("suspicious", "published", "pending")
    assert await audit_tags(services, prefix="protect:") == ["protect:scan-suspicious"]
    await decide(services, clear, "iffy", by=OPERATOR)
    with pytest.raises(Conflict):
        await decide(services, clear, "iffy", by=OPERATOR)


async def test_suspicious_is_held_when_the_setting_says_hold(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    scanner: FixedScanner,
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    services.settings = services.settings.model_copy(update={"scan_suspicious_action": "hold"})
    assert (await post_upload(make_wheel(tmp_path, "iffy", "1.0"))).status_code == 200
    wheel = make_wheel(tmp_path, "iffy", "1.1")
    scanner.verdicts[wheel.name] = ScanReport(wheel.name, "suspicious")
    response = await post_upload(wheel)
    assert "is held (not installable)" in response.text
    assert await _status(services, "iffy") == (ACTIVE, [ACTIVE, HELD])
    page = (await client.get("/simple/iffy/")).text
    assert "iffy-1.0-py3-none-any.whl" in page and wheel.name not in page
    async with services.db.session() as session:
        path = await session.scalar(select(File.path).where(File.filename == wheel.name))
    assert (await client.get(f"/files/{path}")).status_code == 404
    await decide(services, clear, "iffy", "1.1", by=OPERATOR)
    assert wheel.name in (await client.get("/simple/iffy/")).text
    assert (await client.get(f"/files/{path}")).status_code == 200


async def test_a_scanner_error_goes_to_review(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    scanner: FixedScanner,
) -> None:
    await make_user("alice")
    wheel = make_wheel(tmp_path, "odd", "1.0")
    scanner.verdicts[wheel.name] = ScanReport(wheel.name, "error", error="bad zip member")
    assert (await post_upload(wheel)).status_code == 200
    [scan] = await _scans(services)
    assert (scan.scan_verdict, scan.verdict, scan.review_state, scan.error) == (
        "error",
        "suspicious",
        "pending",
        "bad zip member",
    )


async def test_the_version_diff_compares_with_the_previous_release(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    scanner: FixedScanner,
    comparer: RecordingComparer,
) -> None:
    """Turns bad in version 2: the new capability raises the verdict, and is stored."""
    await make_user("alice")
    first, second = make_wheel(tmp_path, "turn", "1.0"), make_wheel(tmp_path, "turn", "2.0")
    scanner.verdicts[first.name] = ScanReport(
        first.name, "clean", capabilities=frozenset({"network"})
    )
    scanner.verdicts[second.name] = ScanReport(
        second.name, "clean", capabilities=frozenset({"network", "install-time:secrets"})
    )
    assert (await post_upload(first)).status_code == 200
    assert (await post_upload(second)).status_code == 200
    assert comparer.seen == [(None, first.name), (first.name, second.name)]
    scan = (await _scans(services))[-1]
    assert (scan.scan_verdict, scan.verdict) == ("clean", "suspicious")
    assert scan.new_capabilities == ["install-time:secrets"]
    assert scan.diff_findings[0]["rule"] == "new-capability"


async def test_quarantine_and_remove_with_forbid(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    client: httpx.AsyncClient,
    scanner: FixedScanner,
) -> None:
    await make_user("alice")
    assert (await post_upload(make_wheel(tmp_path, "twice", "1.0"))).status_code == 200
    assert (await post_upload(make_wheel(tmp_path, "twice", "2.0"))).status_code == 200
    result = await decide(services, quarantine, "twice", "2.0", by=OPERATOR, reason="bad release")
    assert result.changed == ["release 2.0 quarantined"]
    page = (await client.get("/simple/twice/")).text
    assert "twice-1.0" in page and "twice-2.0" not in page
    await decide(services, quarantine, "twice", by=OPERATOR, reason="all bad")
    assert hidden(await seen(client, services, "twice"))
    with pytest.raises(Conflict):
        await decide(services, quarantine, "twice", by=OPERATOR, reason="again")
    await decide(services, remove_project, "twice", by=OPERATOR, reason="malware", forbid=True)
    refused = await post_upload(make_wheel(tmp_path, "twice", "3.0"))
    assert refused.status_code == 403, refused.text  # the tombstone, then the reservation
    async with services.db.session() as session:
        reserved = await session.get(ReservedName, "twice")
    assert reserved is not None and reserved.reason == "remove: malware"
    tags = await audit_tags(services, prefix="protect:")
    assert tags.count("protect:review-quarantine") == 2 and "protect:review-remove" in tags


async def test_a_malicious_first_upload_quarantines_the_new_project(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    scanner: FixedScanner,
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    wheel = malicious_wheel(tmp_path, "fresh-stealer", "1.0")
    scanner.verdicts[wheel.name] = malicious_report(wheel.name)
    assert (await post_upload(wheel)).status_code == 200
    assert await _status(services, "fresh-stealer") == (QUARANTINED, [QUARANTINED])
    assert hidden(await seen(client, services, "fresh-stealer"))


class BrokenScanner:
    def __call__(self, path: Path, filename: str, settings: Settings) -> ScanReport:
        raise RuntimeError("bug in a rule")


async def test_a_scanner_that_raises_does_not_fail_the_upload(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
) -> None:
    await make_user("alice")
    services.protect = protection(scanner=BrokenScanner())
    response = await post_upload(make_wheel(tmp_path, "fragile", "1.0"))
    assert response.status_code == 200, response.text
    [scan] = await _scans(services)
    assert (scan.verdict, scan.review_state, scan.error) == (
        "suspicious",
        "pending",
        "scanner failed: RuntimeError",
    )


async def test_clearing_a_quarantine_keeps_a_pending_name_review(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    judge: ExpectingJudge,
    scanner: FixedScanner,
) -> None:
    await make_user("alice")
    judge.expected["requests"] = review("requests", "requests")
    wheel = malicious_wheel(tmp_path, "requests", "99.0")
    scanner.verdicts[wheel.name] = malicious_report(wheel.name)
    assert (await post_upload(wheel)).status_code == 200
    assert (await _status(services, "requests"))[0] == QUARANTINED
    result = await decide(services, clear, "requests", by=OPERATOR)
    assert result.status == HELD
    assert "project held for its name review" in result.changed
