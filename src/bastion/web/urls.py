"""Links to our own pages, built from route names (``name=`` on every route).

Paths, not absolute URLs: the app sits behind proxies and a path is what browsers and
tests compare. Each value is percent-encoded as one path segment (a mount's ``path``
keeps its slashes). The bare read path (``/simple/``, ``/files/``) is not a FastAPI
route, so :func:`read_path` builds its links.

Starlette's ``url_path_for`` tries every route in turn (≈100 µs a link here); the table of
name → path format is built once per app instead, from the same routes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.routing import iter_route_contexts
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.convertors import Convertor
from starlette.requests import HTTPConnection
from starlette.routing import Mount, NoMatchFound, Route, compile_path, replace_params

Formats = dict[str, tuple[str, dict[str, Convertor[Any]]]]


def route_formats(app: Any) -> Formats:
    """Each route name's path format and convertors (the first route of a name wins: a
    name is one path, whatever its methods), built on first use and kept on the app."""
    table: Formats | None = getattr(app.state, "route_formats", None)
    if table is None:
        table = {}
        for context in iter_route_contexts(app.routes):
            route = context.route
            name = getattr(route, "name", None)
            if not name:
                continue
            if isinstance(route, Route):
                path = route.path
            elif isinstance(route, Mount):
                path = route.path.rstrip("/") + "/{path:path}"
            else:
                continue
            _regex, path_format, convertors = compile_path(path)
            table.setdefault(name, (path_format, convertors))
        app.state.route_formats = table
    return table


def _segment(key: str, value: object) -> object:
    if isinstance(value, int):
        return value
    return quote(str(value), safe="/" if key == "path" else "")


def path_for(request: HTTPConnection, name: str, /, **params: object) -> str:
    """The path of the route called ``name`` with ``params`` filled in, e.g.
    ``path_for(request, "manage.project", name="demo")`` → ``/manage/project/demo/``."""
    found = route_formats(request.app).get(name)
    if found is None or set(params) != set(found[1]):
        raise NoMatchFound(name, params)
    path_format, convertors = found
    values = {key: _segment(key, value) for key, value in params.items()}
    path, _rest = replace_params(path_format, convertors, values)  # type: ignore[arg-type]
    return path


def site_url(request: HTTPConnection, name: str, /, **params: object) -> str:
    """The route's address on the site's public base URL (``BASTION_BASE_URL``), for links
    that leave the browser: emails, commands to copy."""
    base_url: str = request.app.state.services.settings.base_url
    return base_url.rstrip("/") + path_for(request, name, **params)


def read_path(prefix: str, path: str = "") -> str:
    """A link into the bare read path: ``read_path("files", "ab/cd/x.whl")`` →
    ``/files/ab/cd/x.whl``; ``read_path("simple")`` → ``/simple/``."""
    return f"/{prefix}/{quote(path)}"


@pass_context
def template_url_for(context: Context, name: str, /, **params: Any) -> str:
    """``url_for`` in templates: the route's path, built from the page's request."""
    request = context.get("request")
    if request is None:
        raise RuntimeError(f"url_for({name!r}) needs the request: import macros 'with context'")
    return path_for(request, name, **params)
