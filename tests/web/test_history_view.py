"""Security history as sentences: wording, compact user agents, relative time, and token
use folded into the upload it served (while a lone token use stays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bastion.audit.queries import HistoryEvent
from bastion.web.history_view import compact_agent, relative, sentence, view

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def event(
    i: int, tag: str, *, ago: timedelta, ip: str = "10.0.0.1", **details: Any
) -> HistoryEvent:
    return HistoryEvent(
        id=i,
        time=NOW - ago,
        tag=tag,
        username="alice",
        project="tiny-tool",
        ip_address=ip,
        user_agent="twine/5.1.1 CPython/3.12",
        details=details,
    )


def test_sentences_read_as_sentences() -> None:
    assert sentence("project:release:delete", {"version": "1.2"}, "tiny-tool") == (
        "Deleted release 1.2 of tiny-tool"
    )
    assert sentence("login:success", {"method": "password+totp"}, None) == (
        "Signed in with password and authenticator app"
    )
    assert sentence(
        "project:role:change",
        {"username": "carol", "role": "Owner", "previous_role": "Maintainer"},
        "demo",
    ) == ("Changed the role of carol on demo from Maintainer to Owner")
    assert sentence("something:new_kind", {}, None) == "Something new kind"


def test_compact_user_agents() -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    chrome = (
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Mobile Safari/537.36"
    )
    assert compact_agent(firefox) == "Firefox on Linux"
    assert compact_agent(chrome) == "Chrome on Android"
    assert compact_agent("twine/5.1.1 pkginfo/1.10 requests/2.32") == "twine 5.1.1"
    assert compact_agent(None) == ""


def test_relative_time() -> None:
    assert relative(NOW - timedelta(seconds=10), NOW) == "just now"
    assert relative(NOW - timedelta(minutes=1), NOW) == "1 minute ago"
    assert relative(NOW - timedelta(hours=5), NOW) == "5 hours ago"
    assert relative(NOW - timedelta(days=3), NOW) == "3 days ago"
    assert relative(NOW - timedelta(days=45), NOW) == "on 2026-10-15"


def test_token_use_is_folded_into_the_upload_it_served() -> None:
    events = [  # newest first, as the query returns them
        event(
            5,
            "project:upload",
            ago=timedelta(seconds=1),
            version="1.2",
            filename="tiny_tool-1.2.tar.gz",
        ),
        event(4, "token:use", ago=timedelta(seconds=2), token_name="ci"),
        event(
            3,
            "project:upload",
            ago=timedelta(seconds=3),
            version="1.2",
            filename="tiny_tool-1.2-py3-none-any.whl",
        ),
        event(2, "token:use", ago=timedelta(seconds=4), token_name="ci"),
        event(1, "token:use", ago=timedelta(hours=2), token_name="ci"),  # a refused upload
    ]
    lines = view(events, NOW)
    assert [line.sentence for line in lines] == [
        "Uploaded tiny_tool-1.2.tar.gz to release 1.2 of tiny-tool",
        "Uploaded tiny_tool-1.2-py3-none-any.whl to release 1.2 of tiny-tool",
        "Used the API token “ci”",
    ]
    assert lines[0].note == "With the API token “ci”" and lines[0].agent == "twine 5.1.1"
    assert lines[2].ago == "2 hours ago"
