"""The web UI's read queries (bastion.packaging.queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bastion.clock import MovableClock
from bastion.errors import NotFound
from bastion.packaging import queries
from bastion.services import Services
from tests.support.types import AddRelease

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Row:
    version: str
    yanked: bool = False
    is_prerelease: bool = False
    created: datetime = T0


def latest(rows: list[Row]) -> str:
    row = queries.pick_latest(rows)
    assert row is not None
    version: str = row.version
    return version


def test_pick_latest_prefers_stable_non_yanked() -> None:
    rows = [
        Row("1.0"),
        Row("1.10"),
        Row("1.9"),
        Row("2.0rc1", is_prerelease=True),
        Row("1.11", yanked=True),
    ]
    assert latest(rows) == "1.10"


def test_pick_latest_falls_back_to_prereleases_then_yanked() -> None:
    assert (
        latest(
            [
                Row("1.0a1", is_prerelease=True),
                Row("1.0b1", is_prerelease=True),
                Row("2.0", yanked=True),
            ]
        )
        == "1.0b1"
    )
    assert latest([Row("1.0", yanked=True), Row("0.9", yanked=True)]) == "1.0"
    assert queries.pick_latest([]) is None


def test_version_key_orders_invalid_versions_last() -> None:
    versions = ["1.0", "not-a-version", "1.0.post1", "0.9"]
    assert sorted(versions, key=queries.version_key, reverse=True) == [
        "1.0.post1",
        "1.0",
        "0.9",
        "not-a-version",
    ]


async def test_counts(services: Services, add_release: AddRelease) -> None:
    await add_release("a", "1.0", files=["a-1.0.tar.gz", "a-1.0-py3-none-any.whl"])
    await add_release("a", "2.0")
    await add_release("b", "1.0", files=["b-1.0.tar.gz"])
    async with services.db.session() as session:
        assert await queries.index_counts(session) == queries.IndexCounts(2, 3, 3)


async def test_recently_updated_is_newest_first_with_aware_times(
    services: Services, add_release: AddRelease, clock: MovableClock
) -> None:
    await add_release("old", "1.0", summary="old one", created=T0)
    await add_release("new", "1.0", summary="stable", created=T0 + timedelta(days=1))
    await add_release("new", "2.0a1", summary="pre", created=T0 + timedelta(days=2))
    await add_release("mid", "1.0", created=T0 + timedelta(hours=12))
    async with services.db.session() as session:
        recent = await queries.recently_updated(session, 2)
        assert await queries.recently_updated(session, 0) == []
    assert [(p.normalized_name, p.version, p.summary) for p in recent] == [
        ("new", "1.0", "stable"),
        ("mid", "1.0", None),
    ]
    assert recent[0].updated == T0 + timedelta(days=2)
    assert recent[0].updated is not None and recent[0].updated.tzinfo is not None


async def test_search_ranks_exact_then_prefix_then_substring(
    services: Services, add_release: AddRelease
) -> None:
    for name in ("xfoo", "foo-bar", "Foo", "foobar", "bar"):
        await add_release(name, "1.0")
    async with services.db.session() as session:
        page = await queries.search_projects(session, "FOO", page=1, per_page=10)
    assert [p.normalized_name for p in page.results] == ["foo", "foo-bar", "foobar", "xfoo"]
    assert page.total == 4 and page.pages == 1 and not page.has_next


async def test_search_pages(services: Services, add_release: AddRelease) -> None:
    for i in range(5):
        await add_release(f"p{i}", "1.0")
    async with services.db.session() as session:
        second = await queries.search_projects(session, "p", page=2, per_page=2)
        assert [p.name for p in second.results] == ["p2", "p3"]
        assert second.has_previous and second.has_next and second.pages == 3
        with pytest.raises(NotFound):
            await queries.search_projects(session, "p", page=4, per_page=2)
        empty = await queries.search_projects(session, "   ", page=1, per_page=2)
        assert empty.total == 0 and empty.results == []
        none = await queries.search_projects(session, "zzz", page=1, per_page=2)
        assert none.total == 0 and none.pages == 1


async def test_project_detail(services: Services, add_release: AddRelease) -> None:
    await add_release("Thing", "1.0", files=["thing-1.0.tar.gz"], meta={"author": "A"})
    await add_release(
        "Thing",
        "1.1",
        files=["thing-1.1-py3-none-any.whl", "thing-1.1.tar.gz"],
        yanked=True,
        yanked_reason="bad",
    )
    async with services.db.session() as session:
        detail = await queries.project_detail(session, "thing")
        assert detail.name == "Thing" and detail.latest_version == "1.0" and detail.is_latest
        assert detail.release is not None and detail.release.meta == {"author": "A"}
        assert [h.version for h in detail.history] == ["1.1", "1.0"]
        assert detail.history[0].yanked and detail.history[0].yanked_reason == "bad"
        pinned = await queries.project_detail(session, "thing", "1.1")
        assert pinned.release is not None and not pinned.is_latest
        assert [f.filename for f in pinned.release.files] == [
            "thing-1.1.tar.gz",
            "thing-1.1-py3-none-any.whl",
        ]
        with pytest.raises(NotFound, match=r"has no release '2\.0'"):
            await queries.project_detail(session, "thing", "2.0")
        with pytest.raises(NotFound, match="no project named 'nope'"):
            await queries.project_detail(session, "nope")
