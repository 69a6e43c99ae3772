"""Settings: every rule a user meets, read once from ``BASTION_*`` variables or a TOML file."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MB = 1024 * 1024


class Settings(BaseSettings):
    """The one typed settings object. Environment wins over the TOML file."""

    model_config = SettingsConfigDict(env_prefix="BASTION_", extra="ignore", frozen=True)

    # Where things live.
    data_dir: Path = Path("./data")
    database_url: str = ""
    # PostgreSQL connections each process keeps open, and how many more it may open at a
    # peak (size them so workers x (pool + overflow) stays under max_connections).
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=20, ge=0)
    files_dir: Path | None = None
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_prefix: str = ""

    # How the index presents itself.
    site_name: str = "Bastion"
    base_url: str = "http://127.0.0.1:8080"
    secret_key: str = ""
    trusted_proxies: list[str] = Field(default_factory=list)

    # Password hashing (argon2id; RFC 9106's low-memory profile by default).
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)

    # Uploads.
    max_upload_size: int = 100 * MB
    max_metadata_size: int = 1 * MB
    max_archive_members: int = 20_000
    max_uncompressed_size: int = 1024 * MB
    max_compression_ratio: int = 200
    max_form_parts: int = Field(default=2_000, ge=1)  # multipart parts per upload request
    allow_password_upload: bool = True
    # Wheel tags accepted, as PyPI accepts them (regular expressions matched in full): a
    # wheel whose filename carries another interpreter or platform tag is refused.
    wheel_interpreter_tags: list[str] = Field(
        default_factory=lambda: [
            r"py[23]\d{0,2}",
            r"cp[23]\d{0,2}",
            r"pp[23]\d{0,3}",
            r"pp7\d",
            r"ip\d{0,3}",
            r"jy\d{0,3}",
            r"graalpy\d{2,4}",
        ]
    )
    wheel_platform_tags: list[str] = Field(
        default_factory=lambda: [
            r"any",
            r"win32",
            r"win_amd64",
            r"win_arm64",
            r"win_ia64",
            r"manylinux1_(x86_64|i686)",
            r"manylinux2010_(x86_64|i686)",
            r"manylinux2014_(x86_64|i686|aarch64|armv7l|ppc64|ppc64le|s390x)",
            r"linux_(armv6l|armv7l)",
            r"manylinux_\d+_\d+_(x86_64|i686|aarch64|armv7l|ppc64|ppc64le|s390x|riscv64)",
            r"musllinux_\d+_\d+_(x86_64|i686|aarch64|armv7l|ppc64le|s390x|riscv64)",
            r"macosx_(10|1[1-9]|[2-9]\d)_\d+_(ppc|ppc64|i386|x86_64|arm64|intel|fat|fat3|fat32"
            r"|fat64|universal|universal2)",
            r"ios_\d+_\d+_(arm64|x86_64)_(iphoneos|iphonesimulator)",
            r"android_\d+_(arm64_v8a|armeabi_v7a|x86|x86_64)",
        ]
    )

    # Accounts and sessions.
    password_min_length: int = Field(default=10, ge=8, le=128)
    session_idle_minutes: int = Field(default=60, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    reauth_minutes: int = Field(default=10, ge=1)
    email_verify_hours: int = Field(default=24, ge=1)
    password_reset_minutes: int = Field(default=60, ge=5)
    security_history_page_size: int = Field(default=50, ge=1, le=500)

    # Second factors (accounts/twofactor). Empty key: derived from secret_key with HKDF.
    totp_encryption_key: str = ""
    totp_valid_window: int = Field(default=1, ge=0, le=2)
    # While setting up an app only: a code this many steps off is reported as clock skew.
    totp_skew_detect_steps: int = Field(default=10, ge=0, le=60)
    recovery_code_count: int = Field(default=8, ge=1, le=32)
    # Failed second-factor attempts allowed, each "count/seconds" (PyPI-like defaults).
    twofactor_user_limits: list[str] = Field(
        default_factory=lambda: ["5/300", "20/3600", "50/86400"]
    )
    twofactor_address_limits: list[str] = Field(default_factory=lambda: ["10/300", "50/3600"])
    # Failed password checks allowed (web sign-in, re-auth, HTTP Basic), each "count/seconds":
    # per account name tried, and per client address across accounts.
    password_user_limits: list[str] = Field(
        default_factory=lambda: ["10/300", "30/3600", "100/86400"]
    )
    password_address_limits: list[str] = Field(default_factory=lambda: ["30/300", "100/3600"])
    webauthn_rp_id: str = ""  # empty: the host of base_url ("localhost" for 127.0.0.1)
    webauthn_rp_name: str = "Bastion"
    webauthn_origins: list[str] = Field(default_factory=list)  # empty: the origin of base_url
    webauthn_attestation: Literal["none", "direct"] = "direct"
    webauthn_challenge_seconds: int = Field(default=300, ge=30, le=3600)

    @field_validator(
        "twofactor_user_limits",
        "twofactor_address_limits",
        "password_user_limits",
        "password_address_limits",
    )
    @classmethod
    def _rate_limits_are_count_per_seconds(cls, value: list[str]) -> list[str]:
        for item in value:
            count, _, seconds = item.partition("/")
            if not (count.strip().isdigit() and seconds.strip().isdigit() and int(seconds) > 0):
                raise ValueError(
                    f"rate limit {item!r} must look like 'COUNT/SECONDS', e.g. '5/300'"
                )
        return value

    # Outgoing mail: SMTP when smtp_host is set, else an mbox file under the data dir.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "bastion@localhost"
    smtp_timeout: float = 30.0

    # The HTTP server: idle keep-alive connections are closed after this long. Behind a
    # proxy that keeps upstream connections open, make it longer than the proxy's
    # (nginx: keepalive_timeout in the upstream block, 60 s) so the proxy closes first.
    keep_alive_seconds: float = Field(default=5.0, gt=0)

    # Read path.
    simple_cache_ttl: float = Field(default=60.0, ge=0)
    files_cache_max_age: int = 365 * 24 * 3600
    simple_cache_max_age: int = 600
    files_lookup_cache_size: int = 50_000
    # Cross-process coherence (db.changes): the PostgreSQL LISTEN connection is pinged
    # this often, and re-opened this long after a failure (serial checks meanwhile).
    change_feed_keepalive_seconds: float = Field(default=10.0, gt=0)
    change_feed_retry_seconds: float = Field(default=1.0, gt=0)
    # Carry the feed over Redis pub/sub instead (any database; needed when PostgreSQL is
    # reached through a transaction-pooling proxy, which does not pass LISTEN). Channels
    # are "<prefix>:changes" and "<prefix>:acks": one prefix per Bastion sharing a Redis.
    redis_url: str = ""
    redis_channel_prefix: str = Field(
        default="bastion", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    # After a write, wait at most this long until every live worker acknowledged it
    # (then any worker serves it): read-your-writes through another worker.
    change_feed_settle_seconds: float = Field(default=1.0, ge=0)
    # /_health/: how long the database and store checks may take before "unavailable".
    health_timeout_seconds: float = Field(default=2.0, gt=0)

    # Upstream indexes (upstream/): names not hosted here are fetched on demand from these
    # PEP 503/691 simple indexes (first that has the name wins), pages kept fresh for
    # upstream_ttl seconds and then revalidated in the background (stale-while-revalidate).
    upstream_urls: list[str] = Field(default_factory=list)
    upstream_ttl: float = Field(default=300.0, ge=0)
    upstream_timeout: float = Field(default=10.0, gt=0)  # seconds; then 504, never a hang
    # Upstream files younger than this (by PEP 700 upload-time) are held back.
    upstream_cooldown_days: int = Field(default=0, ge=0)
    upstream_max_file_size: int = Field(default=1024 * MB, ge=1)
    # Projects served only from upstream may be designated critical here (false: never).
    upstream_critical: bool = True

    # Private index: /simple/, /files/, the JSON API and project pages need a read token
    # (HTTP Basic, __token__) or a signed-in session. Verified tokens are cached this long
    # per process (a revocation elsewhere takes at most this long to bite).
    private_index: bool = False
    read_token_cache_seconds: float = Field(default=30.0, ge=0, le=3600)

    # Download counting.
    download_flush_seconds: float = 5.0

    # Web UI.
    web_page_size: int = Field(default=20, ge=1, le=200)
    web_recent_projects: int = Field(default=10, ge=0, le=100)

    # Critical projects and the 2FA mandate.
    mandate_scope: Literal["critical", "all"] = "critical"
    mandate_enforced_from: date | None = None
    critical_window_days: int = 183
    critical_share: float = 0.01
    critical_min_downloads: int = 0
    # Embedded mode: run the daily critical recompute in-process. Turn off when
    # several processes serve the index and cron runs `bastion critical recompute`.
    embedded_jobs: bool = True
    # The daily job runs this long after UTC midnight (late download counts flush first).
    critical_job_delay_seconds: float = Field(default=300.0, ge=0)

    # Deletion safeguards (packaging.deletion): tombstones and blobs are kept this long
    # before `bastion admin purge` removes them; only admins delete from critical projects
    # unless a private index turns critical_deletion_admin_only off.
    deletion_retention_days: int = Field(default=90, ge=0)
    critical_deletion_admin_only: bool = True
    # Collaborator invitations (packaging.invitations): how long an invitation can be accepted.
    role_invitation_days: int = Field(default=7, ge=1, le=365)

    # The orphan sweep (`bastion admin sweep`, daily): a blob no file row references is
    # removed once it is this old (an upload stores its blob just before it commits), and
    # temp files of interrupted uploads and writes once they are this old (also at start).
    # While the database is unreachable every request gets 503 with this Retry-After.
    database_retry_after_seconds: int = Field(default=5, ge=1, le=3600)

    orphan_grace_minutes: float = Field(default=24 * 60, ge=0)
    temp_grace_minutes: float = Field(default=60, ge=0)

    # Public 2FA metrics (/stats/2fa, /metrics): figures are cached this long per process;
    # the page, JSON and chart show this many days of daily snapshots.
    metrics_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
    metrics_history_days: int = Field(default=365, ge=1, le=3660)

    # Security-key giveaway: defaults for new programs (ISO 3166-1 alpha-2 region codes).
    giveaway_max_keys_per_user: int = Field(default=2, ge=1, le=100)
    # Where maintainers redeem their promo codes (the vendor's page), linked next to the codes.
    giveaway_redeem_url: str = ""
    giveaway_regions: list[str] = Field(
        default_factory=lambda: ["DE", "AT", "CH", "BE", "FR", "IT", "ES", "GB", "CA", "US", "JP"]
    )

    # Name protection (protect/names): how close a new project name may come to a popular
    # one. A one-edit neighbour is held for review when slip weight + popularity + length
    # reaches names_typo_threshold (see protect/names/detector.py for the rules and why).
    names_typo_threshold: int = Field(default=2, ge=0, le=10)
    names_min_length: int = Field(default=4, ge=1)  # shorter keys are never matched by edits
    names_two_edit_min_length: int = Field(default=10, ge=4)
    names_two_edit_max_rank: int = Field(default=1000, ge=0)
    names_affix_max_rank: int = Field(default=300, ge=0)
    names_embed_max_rank: int = Field(default=100, ge=0)
    names_reorder_max_rank: int = Field(default=1000, ge=0)
    # Names that differ from a popular one only by separators (json-lines/jsonlines).
    names_separator_max_rank: int = Field(default=1000, ge=0)
    # A ranked list (rank<TAB>name) used instead of the bundled PyPI one, until
    # `bastion names update-popular` loads another for every process.
    names_popular_file: Path | None = None
    # Popular names also include this many of the index's own most downloaded projects.
    names_local_top: int = Field(default=1000, ge=0)
    names_affixes: list[str] = Field(default_factory=lambda: ["python", "py", "lib", "dev", "sdk"])
    # One of these words (or a number) added to a very popular name makes a look-alike.
    names_filler_words: list[str] = Field(
        default_factory=lambda: [
            "new",
            "update",
            "updated",
            "updater",
            "latest",
            "official",
            "sdk",
            "lib",
            "dev",
            "fix",
            "fixed",
            "secure",
            "fast",
            "py",
            "python",
            "beta",
            "next",
            "free",
            "lite",
            "master",
            "main",
            "dl",
            "download",
            "installer",
            "upgrade",
            "v2",
            "v3",
        ]
    )
    # Stdlib module names (sys.stdlib_module_names) are refused like prohibited names.
    names_refuse_stdlib: bool = True
    # Malware scanning of uploads (protect/scan). Rules ship in protect/data/scan_rules.toml;
    # scan_rules_files adds operators' TOML files (same format; a rule id replaces the shipped
    # one). Reading is bounded: members, bytes of one member, decompressed bytes in all,
    # seconds, nesting of archives in archives. Verdict: rules count once at their highest
    # severity (info 0, low 1, medium 3, high 8, critical 20); the sum against the thresholds.
    scan_rules_files: list[Path] = Field(default_factory=list)
    scan_max_members: int = Field(default=20_000, ge=1)
    scan_max_member_size: int = Field(default=4 * MB, ge=1024)
    scan_max_total_size: int = Field(default=256 * MB, ge=1024)
    scan_max_seconds: float = Field(default=20.0, gt=0)
    scan_max_depth: int = Field(default=2, ge=0)
    scan_max_ratio: int = Field(default=200, ge=1)
    scan_max_parse_size: int = Field(default=1 * MB, ge=1024)  # larger .py files: text rules only
    scan_suspicious_score: int = Field(default=8, ge=1)
    scan_malicious_score: int = Field(default=20, ge=1)
    # Malware scanning and reports (bastion.protect). A "suspicious" upload is published
    # and queued for review, or held (not installable) until an admin clears it.
    scan_suspicious_action: Literal["publish", "hold"] = "publish"
    # A trusted reporter's malware report counts this many times in the review queue.
    report_trusted_weight: int = Field(default=5, ge=1, le=100)
    # This many open reports from distinct trusted reporters quarantine a project younger
    # than report_young_project_days at once (0 turns the automatic quarantine off).
    report_auto_quarantine_trusted: int = Field(default=2, ge=0, le=100)
    report_young_project_days: int = Field(default=30, ge=0)
    report_reason_max_length: int = Field(default=2000, ge=10, le=20000)
    review_page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator("upstream_urls")
    @classmethod
    def _upstream_urls_are_http(cls, value: list[str]) -> list[str]:
        urls = []
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"upstream URL {url!r} must start with http:// or https://")
            urls.append(url if url.endswith("/") else url + "/")
        return urls

    @field_validator("mandate_enforced_from", mode="before")
    @classmethod
    def _empty_date_is_none(cls, value: object) -> object:
        return None if value == "" else value

    # Plain properties, not cached: model_copy(update=...) copies a cached value along, so
    # a copy with another database_url or data_dir would still point at the old one.
    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL; SQLite under the data dir by default."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'bastion.sqlite3'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        elif url.startswith("sqlite:///"):
            url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
        return url

    @property
    def resolved_files_dir(self) -> Path:
        return self.files_dir or self.data_dir / "files"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("BASTION_CONFIG", "bastion.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )
