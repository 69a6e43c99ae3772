"""The service registry one app instance (or one CLI command) works with."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from bastion.accounts.mail import Mailer
from bastion.accounts.passwords import Passwords
from bastion.accounts.read_access import ReadAccess
from bastion.clock import Clock, SystemClock
from bastion.config import Settings
from bastion.db.changes import ChangeFeed
from bastion.db.engine import Database
from bastion.db.redis_feed import RedisPublisher
from bastion.metrics.current import FiguresCache
from bastion.metrics.prometheus import MetricsState
from bastion.private_files import private_dir, private_file, write_private
from bastion.protect.seams import Protection
from bastion.simple.cache import PageCache
from bastion.simple.refresh import PageRefresher
from bastion.stats.counter import DownloadCounter
from bastion.storage.interface import FileStore
from bastion.storage.local import LocalFileStore
from bastion.upstream.proxy import UpstreamProxy


@dataclass
class Services:
    settings: Settings
    db: Database
    store: FileStore
    clock: Clock
    # Downloads are counted per UTC day of this instance's clock (movable in tests).
    downloads: DownloadCounter
    # Password hashing with this instance's argon2id costs.
    passwords: Passwords
    pages: PageCache = field(default_factory=PageCache)
    # This process's Prometheus registry and request metrics.
    metrics: MetricsState = field(default_factory=MetricsState)
    # The current 2FA figures, cached for ``metrics_cache_seconds``.
    figures: FiguresCache = field(default_factory=FiguresCache)
    # This process's news of other processes' changes; started with the server.
    feed: ChangeFeed | None = None
    # Publishes committed changes to Redis (BASTION_REDIS_URL); every process has one.
    publisher: RedisPublisher | None = None
    # Re-checks this process's cached pages before their TTL runs out; started with it.
    refresher: PageRefresher | None = None
    # The upstream proxy (made on first use) and the private index's verified credentials.
    upstream: UpstreamProxy | None = None
    read_access: ReadAccess | None = None
    # The embedded daily-jobs loop of this process, when it runs one.
    daily_task: asyncio.Task[None] | None = None
    # Name judge and malware scanner the upload path calls (bastion.protect.seams).
    protect: Protection = field(default_factory=Protection)
    _mailer: Mailer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # A project this process changes leaves its page cache as the transaction commits.
        self.db.on_commit.append(lambda name: self.pages.invalidate(name))

    @property
    def mailer(self) -> Mailer:
        """Outgoing mail (SMTP, or an mbox under the data dir in the embedded mode), for
        the current ``settings`` (a new one when they are replaced)."""
        if self._mailer is None or self._mailer.settings is not self.settings:
            self._mailer = Mailer(self.settings)
        return self._mailer

    async def close(self) -> None:
        if self.publisher is not None:
            await self.publisher.close()
        await self.db.dispose()


def make_store(settings: Settings) -> FileStore:
    if settings.storage_backend == "s3":
        from bastion.storage.s3 import S3FileStore

        return S3FileStore(settings)
    return LocalFileStore(settings.resolved_files_dir)


def ensure_secret_key(settings: Settings) -> Settings:
    """``settings`` with a secret key: the configured one, or one generated once and kept
    under the data dir (a copy of ``settings`` then)."""
    if settings.secret_key:
        return settings
    path = settings.data_dir / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48))
    else:
        private_file(path)
    return settings.model_copy(update={"secret_key": path.read_text().strip()})


def build_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    private_dir(settings.data_dir)
    settings = ensure_secret_key(settings)
    services = Services(
        settings=settings,
        db=Database(
            settings.resolved_database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        ),
        store=make_store(settings),
        clock=clock,
        downloads=DownloadCounter(clock),
        passwords=Passwords.from_settings(settings),
    )
    if settings.redis_url:
        services.publisher = RedisPublisher(settings.redis_url, settings.redis_channel_prefix)
        services.db.publish = services.publisher.publish
    return services
