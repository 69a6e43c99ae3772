"""Every route has a stable name and links are built from names: no template writes one of
our paths by hand, and the names still give the paths the README documents."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fastapi.routing import iter_route_contexts
from starlette.convertors import IntegerConvertor
from starlette.requests import HTTPConnection
from starlette.routing import Route

from bastion.app import Bastion
from bastion.web.urls import path_for

WEB = Path(__file__).parents[2] / "src" / "bastion" / "web"
METHODS = {"get", "post", "put", "patch", "delete", "api_route"}
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
# A site path written into an attribute: href="/…", action="/…", data-…-url="/…".
HAND_WRITTEN = re.compile(r"""\b(href|action|src|formaction|data-[\w-]*url)\s*=\s*["']/""")


def routes(app: Bastion) -> list[Route]:
    return [c.route for c in iter_route_contexts(app.web.routes) if isinstance(c.route, Route)]


def test_every_route_decorator_names_its_route() -> None:
    unnamed = []
    for module in sorted(WEB.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr in METHODS
                    and not any(k.arg == "name" for k in decorator.keywords)
                ):
                    unnamed.append(f"{module.name}:{node.name}")
    assert unnamed == []


def test_each_name_is_one_path(app: Bastion) -> None:
    paths: dict[str, set[str]] = {}
    for route in routes(app):
        if route.path in ("/openapi.json",):  # FastAPI's own (docs are off)
            continue
        assert NAME.match(route.name), route.name
        paths.setdefault(route.name, set()).add(route.path)
    assert len(paths) > 50
    assert {name: p for name, p in paths.items() if len(p) > 1} == {}


def test_names_give_the_documented_paths(app: Bastion) -> None:
    web = app.web
    assert web.url_path_for("home") == "/"
    assert web.url_path_for("project", name="demo") == "/project/demo/"
    assert web.url_path_for("project.version", name="demo", version="1.0") == "/project/demo/1.0/"
    assert web.url_path_for("upload") == "/legacy/"
    assert web.url_path_for("account.login") == "/account/login/"
    assert web.url_path_for("two_factor") == "/account/two-factor/"
    assert web.url_path_for("giveaway.offer") == "/account/security-keys/giveaway/"
    assert web.url_path_for("manage.yank", name="demo", version="1.0") == (
        "/manage/project/demo/release/1.0/yank/"
    )
    assert web.url_path_for("stats.two_factor") == "/stats/2fa"
    assert web.url_path_for("api.project_json", name="demo") == "/pypi/demo/json"
    assert web.url_path_for("static", path="bastion.css") == "/static/bastion.css"


def test_path_for_agrees_with_the_router(app: Bastion) -> None:
    """The name → path table :func:`path_for` keeps gives what Starlette's own (slower)
    ``url_path_for`` gives, for every route."""
    request = HTTPConnection({"type": "http", "app": app.web, "headers": []})
    for route in routes(app):
        params: dict[str, object] = {
            key: 7 if isinstance(convertor, IntegerConvertor) else "v1.0"
            for key, convertor in route.param_convertors.items()
        }
        expected = app.web.url_path_for(route.name, **params)
        assert path_for(request, route.name, **params) == expected, route.path
    assert path_for(request, "static", path="copy.js") == "/static/copy.js"


def test_templates_write_no_site_paths_by_hand() -> None:
    found = []
    for template in sorted((WEB / "templates").rglob("*.html")):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            if HAND_WRITTEN.search(line):
                found.append(f"{template.relative_to(WEB)}:{number}: {line.strip()[:80]}")
    assert found == []
