"""The incident that cannot happen here: a maintainer deleting a critical package.

A critical project with two releases is installed by pip; its maintainer tries to delete
it in the web UI (403, "yank instead"); an admin deletes it; pip fails; another user
cannot take the name with twine; the admin restores it; pip installs it again and the
files are byte-identical (sha256 compared).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from bastion.accounts.auth import Principal
from bastion.critical.policy import mark
from bastion.packaging.deletion import delete_project
from bastion.packaging.restore import restore_project
from bastion.services import Services
from tests.support.dists import Dist
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser, Upload

from .clients import run_pip, run_twine, sha256_file

pytestmark = pytest.mark.e2e

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def download(live_server: LiveServer, home: Path, target: Path, *specs: str) -> dict[str, str]:
    """``pip download`` each of ``specs`` into ``target``; filename -> sha256."""
    for spec in specs:
        run_pip(
            "download",
            "--no-deps",
            "-d",
            str(target),
            spec,
            index_url=live_server.index_url,
            home=home,
        ).check()
    return {p.name: sha256_file(p) for p in sorted(target.iterdir())}


def served_files(live_server: LiveServer, name: str) -> dict[str, tuple[str, str]]:
    """Every file the simple API lists: filename -> (sha256 of the bytes served, upload time)."""
    page = httpx.get(
        f"{live_server.index_url}{name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=15,
    )
    page.raise_for_status()
    out = {}
    for entry in page.json()["files"]:
        body = httpx.get(urljoin(str(page.url), entry["url"]), timeout=15)
        body.raise_for_status()
        out[entry["filename"]] = (hashlib.sha256(body.content).hexdigest(), entry["upload-time"])
    return out


def web_delete_attempt(live_server: LiveServer, username: str, name: str) -> httpx.Response:
    """Sign in to the web UI and submit the project's delete form, name typed and all."""
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=15) as web:
        login = web.get("/account/login/")
        token = CSRF_RE.search(login.text)
        assert token, login.text
        signed_in = web.post(
            "/account/login/",
            data={"csrf_token": token.group(1), "username": username, "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        form = web.get(f"/manage/project/{name}/")
        assert form.status_code == 200, form.text
        assert "Yank rather than delete" in form.text
        token = CSRF_RE.search(form.text)
        assert token
        return web.post(
            f"/manage/project/{name}/delete/",
            data={"csrf_token": token.group(1), "confirm_name": name, "reason": "new 2FA rule"},
        )


async def test_critical_project_survives_its_maintainer_and_is_restored_byte_identical(
    live_server: LiveServer,
    services: Services,
    upload: Upload,
    make_user: MakeUser,
    dist_dir: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    # alice (the publisher) owns "vital" with two releases, uploaded with real twine.
    dists = [
        Dist.wheel(dist_dir, "vital", "1.0"),
        Dist.sdist(dist_dir, "vital", "1.0"),
        Dist.wheel(dist_dir, "vital", "2.0"),
        Dist.sdist(dist_dir, "vital", "2.0"),
    ]
    upload(*(d.path for d in dists)).check()
    root = await make_user("root", admin=True)
    await make_user("mallory")
    async with services.db.transaction() as session:
        await mark(session, "vital", "top 1% by downloads", now=services.clock.now())

    # pip installs it; keep the bytes it got.
    installed = tmp_path / "site"
    run_pip(
        "install",
        "--no-deps",
        "--target",
        str(installed),
        "vital",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert (installed / "vital-2.0.dist-info").is_dir()
    before = download(live_server, home, tmp_path / "before", "vital==1.0", "vital==2.0")
    assert before == {d.filename: d.sha256 for d in dists if d.filename.endswith(".whl")}
    served = served_files(live_server, "vital")
    assert {f: h for f, (h, _t) in served.items()} == {d.filename: d.sha256 for d in dists}

    # Its maintainer tries to delete it: refused, with "yank instead".
    refused = web_delete_attempt(live_server, "alice", "vital")
    assert refused.status_code == 403, refused.text
    assert "Yank instead" in refused.text and "is critical" in refused.text
    run_pip(
        "download",
        "--no-deps",
        "-d",
        str(tmp_path / "still"),
        "vital",
        index_url=live_server.index_url,
        home=home,
    ).check()

    # An admin deletes it, with a reason; pip can no longer find it.
    await in_transaction(
        services,
        delete_project,
        "vital",
        by=Principal(user=root),
        reason="malware report under review",
    )
    live_server.services.pages.invalidate("vital")
    gone = run_pip(
        "install",
        "--no-deps",
        "--target",
        str(tmp_path / "after"),
        "vital",
        index_url=live_server.index_url,
        home=home,
    )
    assert gone.returncode != 0
    assert "No matching distribution found for vital" in gone.output

    # Another user cannot take the name.
    squat = Dist.wheel(tmp_path, "vital", "9.0")
    taken = run_twine(
        squat.path,
        upload_url=live_server.upload_url,
        username="mallory",
        password=PASSWORD,
        home=home,
    )
    assert taken.returncode != 0
    assert "403" in taken.output
    said = " ".join(taken.output.split())  # rich wraps long lines
    assert "deleted critical project and can never be registered by anyone else" in said

    # The admin restores it; pip installs it again, byte for byte.
    restored = await in_transaction(services, restore_project, "vital", by=Principal(user=root))
    assert restored.files == 4
    live_server.services.pages.invalidate("vital")
    again = tmp_path / "again"
    run_pip(
        "install",
        "--no-deps",
        "--target",
        str(again),
        "vital",
        index_url=live_server.index_url,
        home=home,
    ).check()
    assert (again / "vital-2.0.dist-info").is_dir()
    after = download(live_server, home, tmp_path / "after-restore", "vital==1.0", "vital==2.0")
    assert after == before
    assert served_files(live_server, "vital") == served  # same bytes, same upload times
