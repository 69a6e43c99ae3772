from __future__ import annotations

import httpx


async def test_unknown_page_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
