"""The floor of the Python stack: a bare ASGI callable serving the saved pages from memory.

``benchmarks/simple_api.py --bare`` serves it with the same uvicorn, protocol
(``bastion.serve.reason.ReasonPhraseProtocol``) and worker count as Bastion. It does
the least an index could: one dict lookup by path and ``Accept``, gzip when asked, two
sends; no negotiation rules, ETags or caches. The gap between it and nginx is what the
server (uvicorn + asyncio + the protocol) costs; the gap between it and Bastion is
what Bastion's own read path costs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bastion.serve.reason import PreparedHeaders

Pages = dict[tuple[str, bool, bool], tuple[PreparedHeaders, bytes]]


def _load(root: Path) -> Pages:
    pages: Pages = {}
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        path = "/" + str(folder.relative_to(root.parent)) + "/"
        for filename, is_json, media in (
            ("index.html", False, b"text/html"),
            ("index.v1.json", True, b"application/vnd.pypi.simple.v1+json"),
        ):
            for gz in (False, True):
                file = folder / (filename + (".gz" if gz else ""))
                if not file.exists():
                    file = folder / filename
                    if not file.exists():
                        continue
                body = file.read_bytes()
                headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
                if file.suffix == ".gz":
                    headers.append((b"content-encoding", b"gzip"))
                pages[(path, is_json, gz)] = (PreparedHeaders(headers), body)
    return pages


def app_factory() -> Any:
    pages = _load(Path(os.environ["BENCH_STATIC_SIMPLE"]))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        is_json = gz = False
        for key, value in scope["headers"]:
            if key == b"accept":
                is_json = b"json" in value
            elif key == b"accept-encoding":
                gz = b"gzip" in value
        found = pages.get((scope["path"], is_json, gz))
        if found is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        headers, body = found
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
