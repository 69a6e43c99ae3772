"""Settings: every rule a user meets, read once from ``BASTION_*`` variables or a TOML file."""

from __future__ import annotations

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

import os

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

    # Uploads.
    max_upload_size: int = 100 * MB
    max_metadata_size: int = 1 * MB
    max_archive_members: int = 20_000
    max_uncompressed_size: int = 1024 * MB
    max_compression_ratio: int = 200
    allow_password_upload: bool = True

    # Read path.
    simple_cache_ttl: float = 60.0
    files_cache_max_age: int = 365 * 24 * 3600
    simple_cache_max_age: int = 600

    # Download counting.
    download_flush_seconds: float = 5.0

    # Critical projects and the 2FA mandate.
    mandate_scope: Literal["critical", "all"] = "critical"
    mandate_enforced_from: date | None = None
    critical_window_days: int = 183
    critical_share: float = 0.01
    critical_min_downloads: int = 0

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
