"""``/pypi/<name>/json`` for projects served from an upstream index."""

from __future__ import annotations

from pathlib import Path

import httpx

from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.dists import Dist
from tests.support.factories import make_add_release
from tests.support.types import CliRun

from .servers import StaticIndex


async def test_a_proxied_project_has_a_json_document_of_what_the_index_serves(
    http: httpx.AsyncClient,
    static_upstream: StaticIndex,
    tmp_path: Path,
) -> None:
    wheels = [Dist.wheel(tmp_path / v, "left-pad", v) for v in ("1.0", "2.0", "3.0b1")]
    static_upstream.publish("left-pad", *(w.path for w in wheels))
    response = await http.get("/pypi/left-pad/json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["info"]["name"] == "left-pad"
    assert document["info"]["version"] == "2.0"  # the highest stable release
    assert list(document["releases"]) == ["1.0", "2.0", "3.0b1"]
    (entry,) = document["urls"]
    assert entry["filename"] == "left_pad-2.0-py3-none-any.whl"
    assert entry["digests"] == {"sha256": wheels[1].sha256}
    assert entry["packagetype"] == "bdist_wheel" and entry["python_version"] == "py3"
    # The file URL is Bastion's own, and it serves the verified upstream bytes.
    assert entry["url"].startswith("http://testserver/files/upstream/left-pad/")
    downloaded = await http.get(entry["url"].removeprefix("http://testserver"))
    assert downloaded.content == wheels[1].path.read_bytes()
    one = (await http.get("/pypi/left-pad/3.0b1/json")).json()
    assert one["info"]["version"] == "3.0b1" and "releases" not in one
    assert [u["filename"] for u in one["urls"]] == ["left_pad-3.0b1-py3-none-any.whl"]
    assert (await http.get("/pypi/left-pad/1.0.0/json")).json()["info"]["version"] == "1.0"
    assert (await http.get("/pypi/left-pad/4.0/json")).status_code == 404
    assert (await http.get("/pypi/Left_Pad/json")).status_code == 301
    assert (await http.get("/pypi/nowhere/json")).status_code == 404


async def test_json_follows_the_origin_rules_and_name_protection(
    http: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
    static_upstream: StaticIndex,
    cli: CliRun,
    tmp_path: Path,
) -> None:
    from bastion.protect.names import record_name

    await make_add_release(services, clock)("acme-utils", "1.0", files=["acme-utils-1.0.tar.gz"])
    async with services.db.transaction() as session:
        await record_name(session, "acme-utils")
    for name in ("acme-utiis", "private-thing"):
        static_upstream.publish(name, Dist.wheel(tmp_path / name, name, "9.0").path)
    assert (await cli("origin", "set", "private-thing", "--upstream", "block")).exit_code == 0
    refused = await http.get("/pypi/acme-utiis/json")
    assert refused.status_code == 404 and "acme-utils" in refused.text
    reserved = await http.get("/pypi/private-thing/json")
    assert reserved.status_code == 404 and "reserved" in reserved.text
    assert static_upstream.requests.paths == []
    local = await http.get("/pypi/acme-utils/json")  # a local project: its own document
    assert local.json()["info"]["version"] == "1.0"
