"""PEP 792 on the simple API: listed projects carry ``project-status``; held and
quarantined ones are not listed at all (nor their files served), and come back as active."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bastion.packaging.changes import Operator
from bastion.protect.review import clear, quarantine
from bastion.services import Services
from tests.protect.detectors import ExpectingJudge
from tests.support.dists import make_wheel
from tests.support.protect import decide
from tests.support.types import MakeUser, PostUpload

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture
def judge() -> ExpectingJudge:
    """Names are not under test here: only the expected verdicts, never the real judge's."""
    return ExpectingJudge(real=False)


async def test_listed_projects_carry_their_status(
    services: Services,
    make_user: MakeUser,
    post_upload: PostUpload,
    tmp_path: Path,
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    assert (await post_upload(make_wheel(tmp_path, "marked", "1.0"))).status_code == 200
    page = await client.get("/simple/marked/", headers=JSON)
    assert page.json()["project-status"] == {"status": "active"}
    assert page.json()["meta"]["api-version"] == "1.4"
    html = (await client.get("/simple/marked/")).text
    assert '<meta name="pypi:project-status" content="active">' in html

    await decide(services, quarantine, "marked", by=Operator("test"), reason="malware")
    assert (await client.get("/simple/marked/", headers=JSON)).status_code == 404
    index = (await client.get("/simple/", headers=JSON)).json()
    assert index["projects"] == []
    assert "marked" not in (await client.get("/simple/")).text

    await decide(services, clear, "marked", by=Operator("test"))
    again = await client.get("/simple/marked/", headers=JSON)
    assert again.status_code == 200 and again.json()["project-status"] == {"status": "active"}
