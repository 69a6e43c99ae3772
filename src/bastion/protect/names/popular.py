"""The popular names: the bundled ranked list (or the one an admin loaded), plus the
index's own most downloaded and critical projects; one index per process, rebuilt only
when the list's revision changes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.critical.models import CriticalProject
from bastion.errors import BadRequest
from bastion.protect.names.index import PopularIndex
from bastion.protect.names.models import PopularListState, PopularName
from bastion.protect.names.normalize import canonical
from bastion.protect.names.rules import NameRules
from bastion.stats.models import ProjectWindowSum

BUNDLED = "popular.tsv"
MAX_NAMES = 200_000


def parse_ranked(text: str) -> list[tuple[str, int]]:
    """``rank<TAB>name`` lines (a header line is allowed) as canonical ``(name, rank)``.

    A bare list of names (one a line) is read in order, rank 1 first.
    """
    ranked: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rank_text, tab, name = line.partition("\t")
        if not tab:
            rank_text, name = str(len(ranked) + 1), line
        if not rank_text.strip().isdigit():
            if number == 1:
                continue  # the header
            raise BadRequest(
                f"Line {number} is {line!r}: each line must be 'RANK<TAB>NAME' (rank a number)."
            )
        ranked.setdefault(canonical(name.strip()), int(rank_text))
    if not ranked:
        raise BadRequest("The file holds no names: give one 'RANK<TAB>NAME' a line.")
    if len(ranked) > MAX_NAMES:
        raise BadRequest(f"The file holds {len(ranked)} names; at most {MAX_NAMES} are allowed.")
    return sorted(ranked.items(), key=lambda pair: pair[1])


def bundled_ranked() -> list[tuple[str, int]]:
    """The list shipped with Bastion (PyPI's most downloaded projects)."""
    text = resources.files("bastion.protect").joinpath("data", BUNDLED).read_text("utf-8")
    return parse_ranked(text)


def build_index(ranked: Iterable[tuple[str, int]], rules: NameRules) -> PopularIndex:
    return PopularIndex.build(
        ranked,
        two_edit_min_length=rules.two_edit_min_length,
        two_edit_max_rank=rules.two_edit_max_rank,
        affixes=rules.affixes,
        min_length=rules.min_length,
    )


@dataclass
class _Cached:
    revision: int
    rules: NameRules
    index: PopularIndex


_cache: _Cached | None = None
_lock = asyncio.Lock()


async def current_revision(session: AsyncSession) -> int:
    """0 while the bundled list (or ``names_popular_file``) is in use, else the revision of
    the list ``bastion names update-popular`` loaded."""
    state = await session.get(PopularListState, 1)
    return 0 if state is None else state.revision


async def popular_index(session: AsyncSession, rules: NameRules, local_top: int) -> PopularIndex:
    """This process's index of popular names, (re)built when the list changed.

    Critical projects rank first; the index's own top ``local_top`` projects by downloads
    are added by their place. Adding is cheap, so they are merged in on every call.
    """
    global _cache
    revision = await current_revision(session)
    async with _lock:
        if _cache is None or _cache.revision != revision or _cache.rules != rules:
            if revision == 0 and rules.popular_file:
                text = await asyncio.to_thread(Path(rules.popular_file).read_text, "utf-8")
                ranked = parse_ranked(text)
            elif revision == 0:
                ranked = await asyncio.to_thread(bundled_ranked)
            else:
                rows = await session.execute(select(PopularName.name, PopularName.rank))
                ranked = [(name, rank) for name, rank in rows]
            index = await asyncio.to_thread(build_index, ranked, rules)
            _cache = _Cached(revision=revision, rules=rules, index=index)
        index = _cache.index
    for name in await session.scalars(select(CriticalProject.normalized_name)):
        index.add(name, 1)
    if local_top:
        top = await session.scalars(
            select(ProjectWindowSum.project)
            .where(ProjectWindowSum.downloads > 0)
            .order_by(ProjectWindowSum.downloads.desc())
            .limit(local_top)
        )
        for place, name in enumerate(top, start=1):
            index.add(name, place)
    return index


async def replace_popular(
    session: AsyncSession, ranked: list[tuple[str, int]], *, source: str, now: datetime
) -> int:
    """Store ``ranked`` as the popular list for every process; returns the new revision."""
    await session.execute(delete(PopularName))
    session.add_all(PopularName(name=name, rank=rank) for name, rank in ranked)
    state = await session.get(PopularListState, 1)
    if state is None:
        state = PopularListState(id=1, revision=1, updated=now, source=source)
        session.add(state)
    else:
        state.revision += 1
        state.updated = now
        state.source = source
    await session.flush()
    return state.revision
