"""No route depends on the order routers are included in: every path a route serves is
matched by that route alone, for each of its methods."""

from __future__ import annotations

import re

from fastapi.routing import iter_route_contexts
from starlette.routing import Match, Route

from bastion.app import Bastion

SAMPLES = {"int": "7", "path": "a/b", "str": "sample-1", "version": "1.0"}


def sample_path(route: Route) -> str:
    """The route's path with each parameter replaced by a value its convertor accepts."""

    def value(match: re.Match[str]) -> str:
        _name, _, kind = match.group(1).partition(":")
        return SAMPLES.get(kind or "str", "sample-1")

    return re.sub(r"{([^}]+)}", value, route.path)


def full_matches(routes: list[Route], path: str, method: str) -> list[Route]:
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    return [r for r in routes if r.matches(scope)[0] is Match.FULL]


def test_each_route_alone_serves_its_paths(app: Bastion) -> None:
    routes = [c.route for c in iter_route_contexts(app.web.routes) if isinstance(c.route, Route)]
    assert len(routes) > 50
    clashes = []
    for route in routes:
        if not isinstance(route, Route):
            continue
        path = sample_path(route)
        for method in sorted(route.methods or {"GET"}):
            matched = full_matches(routes, path, method)
            if matched != [route]:
                clashes.append((method, path, [m.path for m in matched]))
    assert clashes == []
