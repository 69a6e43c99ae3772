"""Name protection and the malware scan with real twine and pip against a live server.

A popular name (``requests``) registered here is held for review, and a demonstrator wheel
that steals credentials at import is quarantined: twine's upload succeeds and says why,
pip cannot find or download either, and both install-able again once an admin approves
the name and clears the (false-positive, for the test's sake) quarantine in the web UI.

The server's detectors are the real ones, raised to what the suite expects of these two
inputs (tests/protect/detectors.py), so this holds before and after they land.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bastion.clock import MovableClock
from bastion.config import Settings
from tests.protect.demonstrators import malicious_wheel
from tests.protect.detectors import ExpectingJudge, ExpectingScanner, protection, review
from tests.support.dists import Dist
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer, free_port, run_live_server
from tests.support.types import MakeUser

from .clients import Run, run_pip, run_twine

pytestmark = pytest.mark.e2e

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
STEALER = "stealer-1.0-py3-none-any.whl"


@pytest.fixture
def protected_server(settings: Settings, clock: MovableClock) -> Iterator[LiveServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    detectors = protection(
        judge=ExpectingJudge({"requests": review("requests", "requests")}),
        scanner=ExpectingScanner({STEALER: "malicious"}),
    )
    with run_live_server(
        settings.model_copy(update={"base_url": url}), clock, port, protect=detectors
    ) as server:
        yield server


def pip(server: LiveServer, home: Path, *args: str) -> Run:
    return run_pip(*args, index_url=server.index_url, home=home)


def admin_decides(server: LiveServer, name: str, decision: str, **fields: str) -> None:
    """Sign in to the web UI as root and submit a review decision."""
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=15) as web:
        login = web.get("/account/login/")
        token = CSRF_RE.search(login.text)
        assert token, login.text
        signed_in = web.post(
            "/account/login/",
            data={"csrf_token": token.group(1), "username": "root", "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        page = web.get(f"/admin/review/{name}/")
        assert page.status_code == 200, page.text
        token = CSRF_RE.search(page.text)
        assert token
        done = web.post(
            f"/admin/review/{name}/{decision}/", data={"csrf_token": token.group(1), **fields}
        )
        assert done.status_code == 303, done.text


async def test_held_name_and_quarantined_upload_are_invisible_to_pip_until_reviewed(
    protected_server: LiveServer,
    make_user: MakeUser,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    server = protected_server
    await make_user("alice")
    await make_user("root", admin=True)
    held = Dist.wheel(dist_dir, "requests", "99.0")
    bad = malicious_wheel(dist_dir, "stealer", "1.0")
    assert bad.name == STEALER

    def twine(path: Path) -> str:
        result = run_twine(
            path,
            upload_url=server.upload_url,
            username="alice",
            password=PASSWORD,
            extra=("--verbose",),
            home=home,
        ).check()
        return " ".join(result.output.split())

    assert "The project 'requests' is held for review" in twine(held.path)
    said = twine(bad)
    assert "malware scan found stealer-1.0-py3-none-any.whl malicious" in said, said
    assert "quarantined" in said

    for name, spec in (("requests", "requests==99.0"), ("stealer", "stealer==1.0")):
        refused = pip(server, home, "download", "--no-deps", "-d", str(tmp_path / name), spec)
        assert refused.returncode != 0, refused.output
        assert "No matching distribution" in refused.output, refused.output
        listed = pip(server, home, "index", "versions", name)
        assert listed.returncode != 0, listed.output

    # The frozen project refuses more uploads, twine shows why.
    frozen = run_twine(
        Dist.wheel(dist_dir, "stealer", "1.1").path,
        upload_url=server.upload_url,
        username="alice",
        password=PASSWORD,
        home=home,
    )
    assert frozen.returncode != 0 and "403" in frozen.output, frozen.output

    admin_decides(server, "requests", "approve", reason="we host our own requests")
    admin_decides(server, "stealer", "clear", reason="demonstrator, never run")

    for name, spec, filename in (
        ("requests", "requests==99.0", held.filename),
        ("stealer", "stealer==1.0", STEALER),
    ):
        target = tmp_path / f"{name}-after"
        pip(server, home, "download", "--no-deps", "-d", str(target), spec).check()
        assert [p.name for p in target.iterdir()] == [filename]
        listed = pip(server, home, "index", "versions", name).check()
        assert name in listed.output
