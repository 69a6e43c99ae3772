"""Core metadata parsing: what a release row can hold is refused with a clear 400 first."""

from __future__ import annotations

import pytest

from bastion.errors import BadRequest
from bastion.packaging.metadata import parse_core_metadata

BASE = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


def test_parses_the_fields_a_release_keeps() -> None:
    meta = parse_core_metadata(
        BASE + b"Summary: A demo\nDescription-Content-Type: text/markdown\n\n# Demo\n"
    )
    assert (meta.name, meta.version, meta.summary) == ("demo", "1.0", "A demo")
    assert meta.description_content_type == "text/markdown"


def test_overlong_description_content_type_is_a_400() -> None:
    data = BASE + b"Description-Content-Type: text/markdown; x=" + b"y" * 300 + b"\n"
    with pytest.raises(BadRequest, match="Description-Content-Type is too long"):
        parse_core_metadata(data)
