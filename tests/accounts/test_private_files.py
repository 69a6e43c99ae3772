"""Issue 10, item 7: the data dir is 0700; the secret key, the SQLite database (and its WAL
files) and the mailbox are 0600 from the moment they exist, whatever the umask."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bastion.accounts.mail import Mailer
from bastion.config import Settings
from bastion.db.migrate import upgrade
from bastion.services import build_services


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_secret_key_database_and_mailbox_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite+aiosqlite:///{data / 'bastion.sqlite3'}",
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
    )
    upgrade(settings.resolved_database_url)

    async def use() -> None:
        services = build_services(settings)
        try:
            async with services.db.transaction() as session:
                await session.execute(text("SELECT 1"))
            await Mailer(settings).send("a@example.org", "subject", "body")
        finally:
            await services.close()

    asyncio.run(use())
    assert mode(data) == 0o700
    assert mode(data / "secret_key") == 0o600
    assert mode(data / "bastion.sqlite3") == 0o600
    for extra in ("bastion.sqlite3-wal", "bastion.sqlite3-shm"):
        if (data / extra).exists():
            assert mode(data / extra) == 0o600, extra
    assert mode(data / "mail.mbox") == 0o600


@pytest.mark.usefixtures("open_umask")
def test_existing_files_lose_access_for_others(tmp_path: Path) -> None:
    from bastion.services import ensure_secret_key

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "secret_key").write_text("kept")
    (data / "secret_key").chmod(0o644)
    settings = Settings(data_dir=data)
    assert build_services(settings).settings.secret_key == "kept"
    assert ensure_secret_key(settings).secret_key == "kept"
    assert settings.secret_key == ""  # frozen: the key comes back in a copy
    assert mode(data / "secret_key") == 0o600 and mode(data) == 0o700
