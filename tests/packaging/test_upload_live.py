"""The upload endpoint behind real uvicorn: reason phrases in the status line, and real twine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services
from tests.e2e.clients import run_twine
from tests.support.dists import make_sdist, make_wheel
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer, free_port, run_live_server
from tests.support.types import MakeUser, NothingStored
from tests.support.web import form_for

TWINE = Path(sys.executable).parent / "twine"


@pytest.fixture
async def alice(make_user):
    return await make_user("alice")


def twine(
    live: LiveServer,
    *files: Path,
    user: str = "alice",
    password: str = PASSWORD,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
    env.update(HOME=str(files[0].parent), NO_COLOR="1", PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [
            str(TWINE),
            "upload",
            "--repository-url",
            live.upload_url,
            "-u",
            user,
            "-p",
            password,
            "--non-interactive",
            "--disable-progress-bar",
            *extra,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.usefixtures("alice")
def test_refusal_reason_is_in_the_status_line(live_server: LiveServer, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    with httpx.Client() as client:
        response = client.post(
            live_server.upload_url,
            data=form_for(wheel, sha256_digest="0" * 64),
            files={"content": (wheel.name, wheel.read_bytes())},
            auth=("alice", PASSWORD),
        )
    message = "The digest supplied does not match a digest calculated from the uploaded file."
    assert response.status_code == 400
    assert response.reason_phrase == message
    assert response.text.strip() == message


@pytest.mark.usefixtures("alice")
def test_twine_upload_then_existing_then_skip_existing(
    live_server: LiveServer, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", requires_python=">=3.8")
    sdist = make_sdist(tmp_path, "demo", "1.0")

    first = twine(live_server, wheel, sdist)
    assert first.returncode == 0, first.stdout + first.stderr

    retried = twine(live_server, wheel)  # the same bytes: 200, as on PyPI
    assert retried.returncode == 0, retried.stdout + retried.stderr

    (tmp_path / "other").mkdir()
    other = make_wheel(tmp_path / "other", "demo", "1.0", extra_metadata={"Author": "X"})
    again = twine(live_server, other)
    assert again.returncode != 0
    assert "File already exists" in again.stdout + again.stderr

    skipped = twine(live_server, other, sdist, extra=("--skip-existing",))
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "Skipping" in skipped.stdout + skipped.stderr


@pytest.mark.usefixtures("alice")
async def test_twine_prints_our_refusal(
    live_server: LiveServer, tmp_path: Path, make_user: MakeUser
) -> None:
    await make_user("bob")
    assert twine(live_server, make_wheel(tmp_path, "demo", "1.0"), user="bob").returncode == 0
    result = twine(live_server, make_sdist(tmp_path, "demo", "1.1"))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "403" in output, output
    assert "The user 'alice' isn't allowed to upload to project 'demo'." in output, output

    wrong = twine(live_server, make_wheel(tmp_path, "other", "1.0"), password="wrong")
    assert wrong.returncode != 0
    assert "Invalid or non-existent authentication information" in " ".join(
        (wrong.stdout + wrong.stderr).split()
    )


SMALL_LIMIT = 64 * 1024


@pytest.fixture
def small_limit_server(
    settings: Settings, clock: MovableClock, services: Services
) -> Iterator[LiveServer]:
    """A live server whose upload limit is 64 KiB (``services`` makes the schema)."""
    port = free_port()
    server_settings = settings.model_copy(
        update={"base_url": f"http://127.0.0.1:{port}", "max_upload_size": SMALL_LIMIT}
    )
    with run_live_server(server_settings, clock, port) as server:
        yield server


@pytest.mark.usefixtures("alice")
@pytest.mark.parametrize("size", [1024 * 1024, 4 * 1024 * 1024], ids=["streamed", "declared"])
async def test_twine_gets_the_413_for_a_file_over_the_limit(
    small_limit_server: LiveServer,
    services: Services,
    settings: Settings,
    tmp_path: Path,
    size: int,
    assert_nothing_stored: NothingStored,
) -> None:
    """1 MiB passes the limit while streaming; 4 MiB is refused on its Content-Length.
    Either way twine reads our 413 and message, not a reset connection."""
    wheel = make_wheel(tmp_path, "demo", "1.0", extra_files={"demo/blob.bin": os.urandom(size)})
    result = await asyncio.to_thread(
        run_twine,
        wheel,
        upload_url=small_limit_server.upload_url,
        username="alice",
        password=PASSWORD,
        home=tmp_path,
    )
    output = " ".join(result.output.split())
    assert result.returncode != 0, output
    assert "413" in output, output
    assert "File too large. The limit for an upload is 0.0625 MB (65536 bytes)." in output, output
    assert "reset" not in output.lower() and "aborted" not in output.lower(), output
    await assert_nothing_stored()
    assert list((settings.data_dir / "tmp").glob("upload-*")) == []


@pytest.mark.usefixtures("alice")
@pytest.mark.parametrize(
    ("field", "value", "escaped"),
    [
        ("name", "demo\x00x", "demo\\x00x"),
        ("version", "\x1b[31m1.0", "\\x1b[31m1.0"),
        ("name", "demo\x9b\u202ex", "demo\\x9b\\u202ex"),
    ],
)
def test_control_characters_never_reach_the_status_line_or_the_terminal(
    live_server: LiveServer, tmp_path: Path, field: str, value: str, escaped: str
) -> None:
    """A NUL made an invalid status line (a protocol error instead of our 400); an ESC
    sequence was printed by twine to the user's terminal. Both arrive escaped."""
    wheel = make_wheel(tmp_path, "demo", "1.0")
    with httpx.Client() as client:
        response = client.post(
            live_server.upload_url,
            data=form_for(wheel, **{field: value}),
            files={"content": (wheel.name, wheel.read_bytes())},
            auth=("alice", PASSWORD),
        )
    assert response.status_code == 400
    assert escaped in response.reason_phrase
    assert escaped in response.text
    for text in (response.reason_phrase, response.text.rstrip("\n")):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)
