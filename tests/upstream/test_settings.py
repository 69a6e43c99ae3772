"""The upstream settings read from the environment, with their defaults and checks."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydantic import ValidationError

from bastion.config import Settings


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert defaults.upstream_urls == [] and defaults.upstream_cooldown_days == 0
    assert defaults.private_index is False
    monkeypatch.setenv("BASTION_UPSTREAM_URLS", '["https://pypi.org/simple", "http://devpi/"]')
    monkeypatch.setenv("BASTION_UPSTREAM_TTL", "120")
    monkeypatch.setenv("BASTION_UPSTREAM_TIMEOUT", "2.5")
    monkeypatch.setenv("BASTION_UPSTREAM_COOLDOWN_DAYS", "3")
    monkeypatch.setenv("BASTION_PRIVATE_INDEX", "true")
    settings = Settings()
    assert settings.upstream_urls == ["https://pypi.org/simple/", "http://devpi/"]
    assert (settings.upstream_ttl, settings.upstream_timeout) == (120.0, 2.5)
    assert settings.upstream_cooldown_days == 3 and settings.private_index


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("upstream_urls", ["ftp://mirror/simple/"]),
        ("upstream_cooldown_days", -1),
        ("upstream_timeout", 0),
    ],
)
def test_bad_values_are_refused(key: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**cast(dict[str, Any], {key: value}))
