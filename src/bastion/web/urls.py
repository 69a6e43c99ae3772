"""Links to our own pages, built from route names (``name=`` on every route).

Paths, not absolute URLs: the app sits behind proxies and a path is what browsers and
tests compare. Each value is percent-encoded as one path segment (a mount's ``path``
keeps its slashes). The bare read path (``/simple/``, ``/files/``) is not a FastAPI
route, so :func:`read_path` builds its links.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import HTTPConnection


def _segment(key: str, value: object) -> object:
    if isinstance(value, int):
        return value
    return quote(str(value), safe="/" if key == "path" else "")


def path_for(request: HTTPConnection, name: str, /, **params: object) -> str:
    """The path of the route called ``name`` with ``params`` filled in, e.g.
    ``path_for(request, "manage.project", name="demo")`` → ``/manage/project/demo/``."""
    values = {key: _segment(key, value) for key, value in params.items()}
    return str(request.app.url_path_for(name, **values))


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
