"""Issue 10, item 7: ``/simple/`` and ``/files/`` answers say ``X-Content-Type-Options:
nosniff`` (pages, files, redirects and errors alike)."""

from __future__ import annotations

import httpx

from tests.support.factories import Seeder


async def test_every_read_path_answer_is_nosniff(client: httpx.AsyncClient, seed: Seeder) -> None:
    await seed.release("Demo_Pkg", "1.0")
    wheel = await seed.file("Demo_Pkg", "1.0", "demo_pkg-1.0-py3-none-any.whl", data=b"x" * 10)
    for path, status in [
        ("/simple/", 200),
        ("/simple/demo-pkg/", 200),
        ("/simple/Demo_Pkg/", 301),
        ("/simple/nothing-here/", 404),
        (f"/files/{wheel.path}", 200),
        ("/files/nope.whl", 404),
    ]:
        response = await client.get(path)
        assert response.status_code == status, path
        assert response.headers["x-content-type-options"] == "nosniff", path
