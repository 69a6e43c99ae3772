"""Malware reports: one open report per user and target, trusted reporters weigh more,
young projects are quarantined automatically after enough trusted reports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bastion.clock import MovableClock
from bastion.errors import BadRequest, Conflict, NotFound
from bastion.packaging.changes import Operator
from bastion.protect.review import clear, review_queue
from bastion.services import Services
from tests.protect.detectors import ExpectingJudge
from tests.support.audit import audit_tags, mail_to
from tests.support.dists import make_wheel
from tests.support.protect import decide, hidden, report, seen, served, trust
from tests.support.types import MakeUser, PostUpload


@pytest.fixture
def judge() -> ExpectingJudge:
    """Names are not under test here: only the expected verdicts, never the real judge's."""
    return ExpectingJudge(real=False)


async def _publish(make_user: MakeUser, post_upload: PostUpload, tmp_path: Path, name: str) -> None:
    await make_user("alice")
    assert (await post_upload(make_wheel(tmp_path, name, "1.0"))).status_code == 200


async def test_reports_are_recorded_once_and_weighted(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
) -> None:
    await _publish(make_user, post_upload, tmp_path, "sketchy")
    bob, carol = await make_user("bob"), await make_user("carol")
    await trust(services, "carol", True, by="operator:test")
    plain = await report(services, "Sketchy", None, reporter=bob, reason="steals keys")
    assert (plain.project, plain.trusted, plain.quarantined) == ("sketchy", False, False)
    with pytest.raises(Conflict, match="already reported"):
        await report(services, "sketchy", None, reporter=bob, reason="again")
    on_release = await report(services, "sketchy", "1.0", reporter=bob, reason="1.0")
    assert on_release.version == "1.0"
    trusted = await report(services, "sketchy", None, reporter=carol, reason="payload")
    assert trusted.trusted and not trusted.quarantined  # one trusted report of two needed
    async with services.db.session() as session:
        [item] = await review_queue(session, trusted_weight=5)
    assert (item.reports, item.trusted_reports) == (3, 1)
    assert item.weight == 5 + 2
    assert await audit_tags(services, prefix="protect:") == (
        ["protect:trusted-reporter:grant"] + ["protect:report"] * 3
    )


async def test_bad_reports_are_refused(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
) -> None:
    await _publish(make_user, post_upload, tmp_path, "fine")
    bob = await make_user("bob")
    services.settings = services.settings.model_copy(update={"report_reason_max_length": 20})
    with pytest.raises(BadRequest, match="Say why"):
        await report(services, "fine", None, reporter=bob, reason="  ")
    with pytest.raises(BadRequest, match="too long"):
        await report(services, "fine", None, reporter=bob, reason="x" * 21)
    with pytest.raises(NotFound):
        await report(services, "nothere", None, reporter=bob, reason="why")
    with pytest.raises(NotFound):
        await report(services, "fine", "9.9", reporter=bob, reason="why")
    with pytest.raises(NotFound):
        await trust(services, "nobody", True, by="operator:test")


async def test_trusted_reports_quarantine_a_young_project(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    client: httpx.AsyncClient,
) -> None:
    await _publish(make_user, post_upload, tmp_path, "youngbad")
    for name in ("carol", "dave"):
        await make_user(name)
        await trust(services, name, True, by="operator:test")
    from bastion.accounts.users import get_user

    async with services.db.session() as session:
        carol, dave = await get_user(session, "carol"), await get_user(session, "dave")
    assert carol is not None and dave is not None
    await report(services, "youngbad", None, reporter=carol, reason="exfiltrates")
    result = await report(services, "youngbad", "1.0", reporter=dave, reason="same")
    assert result.quarantined
    assert hidden(await seen(client, services, "youngbad"))
    assert "protect:auto-quarantine" in await audit_tags(services, prefix="protect:")
    assert mail_to(services, "alice@example.org")[-1][0] == (
        "youngbad is quarantined after malware reports"
    )
    await decide(services, clear, "youngbad", by=Operator("test"), reason="reviewed: harmless")
    assert served(await seen(client, services, "youngbad"))
    async with services.db.session() as session:
        assert await review_queue(session, trusted_weight=5) == []


async def test_an_old_project_is_not_quarantined_automatically(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    clock: MovableClock,
    client: httpx.AsyncClient,
) -> None:
    await _publish(make_user, post_upload, tmp_path, "oldgood")
    clock.advance(timedelta(days=services.settings.report_young_project_days + 1))
    services.settings = services.settings.model_copy(update={"report_auto_quarantine_trusted": 1})
    carol = await make_user("carol")
    await trust(services, "carol", True, by="operator:test")
    result = await report(services, "oldgood", None, reporter=carol, reason="hmm")
    assert result.trusted and not result.quarantined
    assert served(await seen(client, services, "oldgood"))


async def test_the_automatic_quarantine_can_be_turned_off(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
) -> None:
    await _publish(make_user, post_upload, tmp_path, "young")
    services.settings = services.settings.model_copy(update={"report_auto_quarantine_trusted": 0})
    carol = await make_user("carol")
    await trust(services, "carol", True, by="operator:test")
    assert not (await report(services, "young", None, reporter=carol, reason="x")).quarantined
    assert not await trust(services, "carol", True, by="operator:test")
    assert await trust(services, "carol", False, by="operator:test")
