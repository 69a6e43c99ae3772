"""``/_health/`` for load balancers: 200 when the database and the store answer, 503 while
the database is unreachable (a closed port: the shared server is never stopped)."""

from __future__ import annotations

import time

import httpx

from bastion.clock import MovableClock
from bastion.config import Settings
from tests.support.database import BACKEND
from tests.support.servers import LiveServer, free_port, run_live_server


def test_ready_with_database_and_store(live_server: LiveServer) -> None:
    deadline = time.monotonic() + 10
    while True:
        response = httpx.get(f"{live_server.url}/_health/")
        body = response.json()
        if body["change_feed"] != "down" or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # PostgreSQL: the LISTEN connection is still opening
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert body == {
        "status": "ok",
        "database": "ok",
        "store": "ok",
        "change_feed": "live" if BACKEND == "postgresql" else "polled",
    }
    assert httpx.get(f"{live_server.url}/_health/live").json() == {"status": "ok"}


def test_unavailable_while_the_database_is_unreachable(
    settings: Settings, clock: MovableClock
) -> None:
    port = free_port()  # nothing listens there
    down = settings.model_copy(
        update={
            "database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/bastion",
            "embedded_jobs": False,
            "base_url": f"http://127.0.0.1:{port}",
        }
    )
    with run_live_server(down, clock, port) as server:
        response = httpx.get(f"{server.url}/_health/", timeout=10)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["database"] != "ok" and "refused" in body["database"].lower()
        assert body["store"] == "ok"
        assert body["change_feed"] == "down"
        # Liveness does not depend on the database: the process is up.
        assert httpx.get(f"{server.url}/_health/live").status_code == 200
