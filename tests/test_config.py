"""Settings: values derived from other settings follow a copy."""

from __future__ import annotations

from pathlib import Path

from bastion.config import Settings


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
