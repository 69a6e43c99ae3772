"""Settings: values derived from other settings follow a copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bastion.config import Settings
from bastion.services import Services


def test_a_settings_copy_resolves_its_own_database_url_and_files_dir(tmp_path: Path) -> None:
    """model_copy(update=...) used to carry the first copy's cached values along."""
    first = Settings(data_dir=tmp_path / "a")
    assert first.resolved_database_url.endswith("/a/bastion.sqlite3")
    assert first.resolved_files_dir == tmp_path / "a" / "files"
    other = first.model_copy(
        update={"data_dir": tmp_path / "b", "database_url": "postgresql://h/db"}
    )
    assert other.resolved_database_url == "postgresql+asyncpg://h/db"
    assert other.resolved_files_dir == tmp_path / "b" / "files"


def test_settings_are_frozen(tmp_path: Path) -> None:
    """Read once, never changed in place: a change is a copy (``model_copy(update=...)``)."""
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValidationError, match="frozen"):
        settings.site_name = "Other"  # type: ignore[misc]
    assert settings.model_copy(update={"site_name": "Other"}).site_name == "Other"
    assert settings.site_name == "Bastion"


async def test_services_follow_replaced_settings(services: Services) -> None:
    """The mailer follows a replaced ``services.settings`` (one mailer per settings)."""
    mailer = services.mailer
    assert services.mailer is mailer  # one per settings object
    services.settings = services.settings.model_copy(update={"data_dir": Path("/elsewhere")})
    assert services.mailer.mbox_path == Path("/elsewhere/mail.mbox")
