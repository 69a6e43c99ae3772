"""What a flood of password guesses costs the server, under and over the limit.

Signs in with wrong passwords for one account, in-process on SQLite with the production
argon2 parameters (64 MiB, t=3, p=4), and prints the mean time per attempt while the
attempts are still checked (one argon2 hash each) and once the account's limit is reached
(counted and refused before any hash).

    .venv/bin/python benchmarks/password_flood.py [--attempts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bastion.accounts.limits import RateLimited
from bastion.accounts.signin import check_password
from bastion.accounts.users import create_user
from bastion.audit.events import RequestContext
from bastion.config import Settings
from bastion.db.migrate import upgrade
from bastion.services import build_services


def mean_ms(times: list[float]) -> float:
    return 1000 * sum(times) / len(times) if times else float("nan")


async def run(data: Path, attempts: int) -> None:
    settings = Settings(data_dir=data, database_url=f"sqlite+aiosqlite:///{data / 'b.sqlite3'}")
    services = build_services(settings)
    try:
        async with services.db.transaction() as session:
            await create_user(
                session,
                services.clock,
                services.passwords,
                username="victim",
                email="victim@example.org",
                password="the right passphrase",
            )
        checked: list[float] = []
        refused: list[float] = []
        for n in range(attempts):
            context = RequestContext(ip_address=f"198.51.100.{n % 200}")
            start = time.perf_counter()
            try:
                await check_password(
                    services.db,
                    "victim",
                    f"guess {n}",
                    settings=services.settings,
                    clock=services.clock,
                    passwords=services.passwords,
                    context=context,
                    kind="bench",
                )
                checked.append(time.perf_counter() - start)
            except RateLimited:
                refused.append(time.perf_counter() - start)
        print(
            f"attempts: {attempts}; checked (argon2): {len(checked)}, "
            f"mean {mean_ms(checked):.1f} ms; refused before hashing: {len(refused)}, "
            f"mean {mean_ms(refused):.2f} ms"
        )
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        upgrade(f"sqlite+aiosqlite:///{data / 'b.sqlite3'}")
        asyncio.run(run(data, args.attempts))


if __name__ == "__main__":
    main()
