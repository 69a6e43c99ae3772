"""Settings: every rule a user meets, read once from ``BASTION_*`` variables or a TOML file."""

from __future__ import annotations

import os
from datetime import date
from functools import cached_property
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

    model_config = SettingsConfigDict(env_prefix="BASTION_", extra="ignore")

    # Where things live.
    data_dir: Path = Path("./data")
    database_url: str = ""
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
    totp_skew_detect_steps: int = Field(default=10, ge=0, le=60)
    recovery_code_count: int = Field(default=8, ge=1, le=32)
    # Failed second-factor attempts allowed, each "count/seconds" (PyPI-like defaults).
    twofactor_user_limits: list[str] = Field(
        default_factory=lambda: ["5/300", "20/3600", "50/86400"]
    )
    twofactor_address_limits: list[str] = Field(default_factory=lambda: ["10/300", "50/3600"])
    webauthn_rp_id: str = ""  # empty: the host of base_url ("localhost" for 127.0.0.1)
    webauthn_rp_name: str = "Bastion"
    webauthn_origins: list[str] = Field(default_factory=list)  # empty: the origin of base_url
    webauthn_attestation: Literal["none", "direct"] = "direct"
    webauthn_challenge_seconds: int = Field(default=300, ge=30, le=3600)

    @field_validator("twofactor_user_limits", "twofactor_address_limits")
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

    # Read path.
    simple_cache_ttl: float = 60.0
    files_cache_max_age: int = 365 * 24 * 3600
    simple_cache_max_age: int = 600
    files_lookup_cache_size: int = 50_000

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

    @field_validator("mandate_enforced_from", mode="before")
    @classmethod
    def _empty_date_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL; SQLite under the data dir by default."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'bastion.sqlite3'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        elif url.startswith("sqlite:///"):
            url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
        return url

    @cached_property
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
