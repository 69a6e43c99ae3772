"""The service registry one app instance (or one CLI command) works with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from bastion.accounts import passwords
from bastion.accounts.mail import Mailer
from bastion.clock import Clock, SystemClock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.private_files import private_dir, private_file, write_private
from bastion.simple.cache import PageCache
from bastion.stats.counter import DownloadCounter
from bastion.storage.interface import FileStore
from bastion.storage.local import LocalFileStore

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    db: Database
    store: FileStore
    clock: Clock
    # Downloads are counted per UTC day of this instance's clock (movable in tests).
    downloads: DownloadCounter
    pages: PageCache = field(default_factory=PageCache)
    # Per-process state other domains hang here (page caches, counters).
    extras: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def mailer(self) -> Mailer:
        """Outgoing mail (SMTP, or an mbox under the data dir in the embedded mode)."""
        return Mailer(self.settings)

    def per_process(self, key: str, kind: type[T]) -> T:
        """The per-process ``kind()`` kept in ``extras`` under ``key``, made on first use."""
        value = self.extras.get(key)
        if value is None:
            value = self.extras[key] = kind()
        assert isinstance(value, kind)
        return value

    async def close(self) -> None:
        await self.db.dispose()


def make_store(settings: Settings) -> FileStore:
    if settings.storage_backend == "s3":
        from bastion.storage.s3 import S3FileStore

        return S3FileStore(settings)
    return LocalFileStore(settings.resolved_files_dir)


def ensure_secret_key(settings: Settings) -> str:
    """The configured secret key, or one generated once and kept under the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48))
    else:
        private_file(path)
    settings.secret_key = path.read_text().strip()
    return settings.secret_key


def build_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    private_dir(settings.data_dir)
    ensure_secret_key(settings)
    passwords.configure(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )
    return Services(
        settings=settings,
        db=Database(settings.resolved_database_url),
        store=make_store(settings),
        clock=clock,
        downloads=DownloadCounter(clock),
    )
