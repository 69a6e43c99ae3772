"""Benchmark the critical-project recompute at PyPI's scale.

Generates ``--projects`` projects (350,000) with ``--days`` (183) days of
long-tailed daily download counts (zero days are not stored), plus one more day
for the incremental update; then times, on SQLite and/or PostgreSQL:

* a full recompute (window sums rebuilt from the daily roll-ups),
* one daily incremental update (add the new day, subtract the day that leaves),
* a second full recompute to the same day, and checks both agree on the top set.

Data is generated and loaded in a child process, so the peak memory printed
(``ru_maxrss``) is the recompute's, not the generator's.

    .venv/bin/python benchmarks/critical.py                      # SQLite only
    .venv/bin/python benchmarks/critical.py --database-url postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/critical.py --projects 50000 --backends sqlite

Goals on a 2-core machine: daily update <= 2 s, full recompute <= 30 s, peak memory <= 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import random
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

FIRST_DAY = date(2024, 1, 1)
CHUNK_PROJECTS = 5_000


def project_rows(
    first: int, count: int, days: int, seed: int
) -> Iterator[tuple[date, str, str, int]]:
    """Rows ``(day, project, 'live', downloads)`` of projects ``first..first+count``.

    Each project has a daily rate drawn from a Pareto tail (most projects get a
    download every few weeks, a few get millions a day); days with no download
    are skipped, as the roll-ups do.
    """
    rng = random.Random(seed * 1_000_003 + first)
    day_dates = [FIRST_DAY + timedelta(days=d) for d in range(days)]
    for i in range(first, first + count):
        name = f"project-{i:06d}"
        rate = min(0.03 * rng.paretovariate(0.85), 5e6)
        p = 1.0 - math.exp(-rate)  # chance of at least one download a day
        if p >= 0.5:
            for d in range(days):
                if rng.random() < p:
                    n = max(1, int(rate * rng.lognormvariate(0.0, 0.4) + 0.5))
                    yield day_dates[d], name, "live", n
        else:
            log_q = math.log1p(-p)
            d = -1
            while True:
                d += 1 + int(math.log(1.0 - rng.random()) / log_q)
                if d >= days:
                    break
                yield day_dates[d], name, "live", 1 if rate < 1 else max(1, int(rate + 0.5))


def chunks(projects: int, days: int, seed: int) -> Iterator[list[tuple[date, str, str, int]]]:
    for first in range(0, projects, CHUNK_PROJECTS):
        rows = list(project_rows(first, min(CHUNK_PROJECTS, projects - first), days, seed))
        rows.sort()  # by (day, project): the primary key's order
        yield rows


async def create_schema(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from bastion.db.models import load_all

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(load_all().create_all)
    await engine.dispose()


def load_sqlite(path: str, projects: int, days: int, seed: int) -> int:
    asyncio.run(create_schema(f"sqlite+aiosqlite:///{path}"))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    total = 0
    for rows in chunks(projects, days, seed):
        with conn:
            conn.executemany(
                "INSERT INTO download_project_days (day, project, source, downloads) "
                "VALUES (?, ?, ?, ?)",
                ((d.isoformat(), p, s, n) for d, p, s, n in rows),
            )
        total += len(rows)
    conn.execute("ANALYZE")
    conn.close()
    return total


async def _load_pg(url: str, projects: int, days: int, seed: int) -> int:
    import asyncpg

    await create_schema(url)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    total = 0
    try:
        for rows in chunks(projects, days, seed):
            await conn.copy_records_to_table(
                "download_project_days",
                records=rows,
                columns=["day", "project", "source", "downloads"],
            )
            total += len(rows)
        await conn.execute("VACUUM ANALYZE download_project_days")
    finally:
        await conn.close()
    return total


def load(backend: str, url: str, projects: int, days: int, seed: int) -> int:
    if backend == "sqlite":
        return load_sqlite(url.removeprefix("sqlite+aiosqlite:///"), projects, days, seed)
    return asyncio.run(_load_pg(url, projects, days, seed))


async def measure(url: str, as_of: date) -> dict[str, object]:
    from bastion.config import Settings
    from bastion.critical.policy import recompute
    from bastion.db.engine import Database
    from bastion.db.models import load_all

    load_all()  # every mapper, so audit events resolve their foreign keys
    settings = Settings(_env_file=None)  # defaults: 183 days, top 1%
    db = Database(url)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    out: dict[str, object] = {}
    try:
        started = time.perf_counter()
        async with db.transaction() as session:
            first = await recompute(session, as_of, settings, full=True, now=now)
        out["full"] = time.perf_counter() - started
        out["projects_with_downloads"] = first.projects_with_downloads
        out["critical"] = first.total_critical

        started = time.perf_counter()
        async with db.transaction() as session:
            daily = await recompute(session, as_of + timedelta(days=1), settings, now=now)
        out["daily"] = time.perf_counter() - started
        assert not daily.full, "the daily update fell back to a full rebuild"
        out["new_after_daily"] = len(daily.newly_critical)

        started = time.perf_counter()
        async with db.transaction() as session:
            again = await recompute(
                session, as_of + timedelta(days=1), settings, full=True, now=now
            )
        out["full_again"] = time.perf_counter() - started
        out["agree"] = daily.selected == again.selected
        out["selected"] = len(daily.selected)
    finally:
        await db.dispose()
    return out


def run_backend(backend: str, url: str, args: argparse.Namespace) -> bool:
    print(f"\n== {backend}: {args.projects:,} projects x {args.days} days (+1 new day)")
    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        rows = pool.apply(load, (backend, url, args.projects, args.days + 1, args.seed))
    print(f"   generated and loaded {rows:,} daily rows in {time.perf_counter() - started:.1f} s")

    as_of = FIRST_DAY + timedelta(days=args.days - 1)
    result = asyncio.run(measure(url, as_of))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"   projects with downloads in window: {result['projects_with_downloads']:,}; "
        f"critical: {result['critical']:,}"
    )
    print(f"   full recompute      {result['full']:7.2f} s   (goal <= 30 s)")
    print(f"   daily incremental   {result['daily']:7.2f} s   (goal <= 2 s)")
    print(f"   full recompute (2)  {result['full_again']:7.2f} s")
    print(f"   peak memory         {peak_mb:7.0f} MB  (goal <= 1024 MB)")
    print(f"   incremental and full agree on the top {result['selected']:,}: {result['agree']}")
    ok = (
        bool(result["agree"])
        and float(result["daily"]) <= 2  # type: ignore[arg-type]
        and float(result["full"]) <= 30
        and peak_mb <= 1024
    )  # type: ignore[arg-type]
    print("   " + ("all goals met" if ok else "GOALS MISSED"))
    return ok


async def _pg_admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=350_000)
    parser.add_argument("--days", type=int, default=183)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server URL; a scratch database is made and dropped",
    )
    parser.add_argument(
        "--backends",
        default="",
        help="comma list of sqlite,postgresql (default: sqlite, plus "
        "postgresql when --database-url is given)",
    )
    args = parser.parse_args()
    backends = (
        args.backends.split(",")
        if args.backends
        else (["sqlite", "postgresql"] if args.database_url else ["sqlite"])
    )
    ok = True
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
                ok = run_backend("sqlite", url, args) and ok
        elif backend == "postgresql":
            if not args.database_url:
                parser.error("postgresql needs --database-url")
            admin = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
            name = f"bastion_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg_admin(admin, f'CREATE DATABASE "{name}"'))
            url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            try:
                ok = run_backend("postgresql", f"{url}/{name}", args) and ok
            finally:
                asyncio.run(_pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            parser.error(f"unknown backend {backend!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
