"""The Jinja2 environment every page renders with (autoescape on)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bastion.web.urls import read_path, template_url_for

TEMPLATES_DIR = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


_ADDRESS = re.compile(
    r"(https?://[^\s<>\"']+|(?<![\w/])/(?:account|manage|project|admin|help)/[^\s<>\"']*)"
)


def linkify(text: str) -> Markup:
    """Plain text (escaped) with its web addresses and site paths made into links; a
    sentence's closing punctuation stays outside the link."""
    out = Markup()
    last = 0
    for match in _ADDRESS.finditer(text):
        url = match.group(0)
        trail = len(url) - len(url.rstrip(".,;:)"))
        url = url[: len(url) - trail]
        out += escape(text[last : match.start()])
        out += Markup('<a href="{0}">{0}</a>').format(url)
        last = match.start() + len(url)
    return out + escape(text[last:])


env.filters["linkify"] = linkify


def error_field(message: str | None, *fields: tuple[str, str]) -> str:
    """Which of a form's ``(name, words)`` fields an error message is about: the first
    whose words (``|``-separated) the message mentions, else the last one; '' without an
    error. Lets the form put the message next to that field (aria-invalid, describedby)."""
    if not message or not fields:
        return ""
    text = message.lower()
    for name, words in fields:
        if any(word and word in text for word in words.split("|")):
            return name
    return fields[-1][0]


env.globals["error_field"] = error_field
env.globals["url_for"] = template_url_for  # a route's path: url_for("project", name=...)
env.globals["read_path"] = read_path  # links into /simple/ and /files/
env.filters["sentence"] = lambda text: str(text)[:1].upper() + str(text)[1:]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` with the request, the site's settings and the signed-in
    ``viewer`` (see :mod:`bastion.web.viewer`) in scope; the viewer's banners (the 2FA
    mandate warning) come before the page's own ``banners``."""
    from bastion.web.viewer import viewer_of

    services = request.app.state.services
    viewer = viewer_of(request.scope)
    values: dict[str, Any] = {"viewer": viewer, **(context or {})}
    if viewer is not None and viewer.banners:
        values["banners"] = [*viewer.banners, *values.get("banners", [])]
    html = env.get_template(template).render(request=request, settings=services.settings, **values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
