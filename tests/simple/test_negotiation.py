from __future__ import annotations

import pytest

from bastion.simple.negotiation import (
    TEXT_HTML,
    V1_HTML,
    V1_JSON,
    choose_from_accept,
    format_param,
    negotiate,
)

pytestmark = pytest.mark.one_backend

PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", TEXT_HTML),
        ("*/*", TEXT_HTML),
        ("text/html", TEXT_HTML),
        ("text/*", TEXT_HTML),
        (V1_HTML, V1_HTML),
        (V1_JSON, V1_JSON),
        ("application/vnd.pypi.simple.latest+json", V1_JSON),
        ("application/vnd.pypi.simple.latest+html", V1_HTML),
        (PIP_ACCEPT, V1_JSON),
        ("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.6", V1_JSON),
        ("text/html;q=0.7, application/vnd.pypi.simple.v1+json;q=0.6", TEXT_HTML),
        ("application/*", V1_HTML),
        ("application/*;q=0.5, application/vnd.pypi.simple.v1+json", V1_JSON),
        # A specific match outranks a wildcard at the same q.
        (f"{V1_JSON}, */*", V1_JSON),
        # q=0 excludes an offer even when a wildcard would accept it.
        ("*/*, text/html;q=0, application/vnd.pypi.simple.v1+html;q=0", V1_JSON),
        ("TEXT/HTML", TEXT_HTML),
        ("application/json", None),
        ("image/png, application/xml;q=0.9", None),
        ("text/html;q=0", None),
        ("text/html;q=abc", None),
        ("text/html;q=2", None),
    ],
)
def test_accept_matrix(accept: str, expected: str | None) -> None:
    assert choose_from_accept(accept) == expected


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        (b"format=application/vnd.pypi.simple.v1+json", b"text/html", V1_JSON),
        (b"format=application%2Fvnd.pypi.simple.v1%2Bhtml", V1_JSON.encode(), V1_HTML),
        (b"format=text/html", V1_JSON.encode(), TEXT_HTML),
        (b"format=json", b"", V1_JSON),
        (b"format=html", b"", V1_HTML),
        (b"format=application/xml", b"*/*", None),
        (b"other=1", V1_JSON.encode(), V1_JSON),
        (b"", b"application/json", None),
    ],
)
def test_format_overrides_accept(query: bytes, accept: bytes, expected: str | None) -> None:
    assert negotiate(accept, query) == expected
    assert negotiate(accept, query) == expected  # memoised answer is the same


def test_format_param_ignores_other_keys() -> None:
    assert format_param(b"a=1&format=json&b=2") == "json"
    assert format_param(b"a=1") is None
