"""Render a release's long description (README) to safe HTML with readme_renderer.

reStructuredText, Markdown (GFM or CommonMark) and plain text, chosen by the
``Description-Content-Type`` as PyPI does; readme_renderer sanitises the output
(nh3). Anything that fails to render falls back to escaped plain text: a broken
README never breaks the page.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from html import escape

import readme_renderer.markdown
import readme_renderer.rst
import readme_renderer.txt
from markupsafe import Markup

log = logging.getLogger(__name__)

MARKDOWN_VARIANTS = ("GFM", "CommonMark")
# The page has its own h1 (the project) and h2 ("Description"): a README's headings go
# below them, so its title never becomes a second h1.
HEADING_SHIFT = 2
_HEADING = re.compile(r"<(/?)h([1-6])(?=[\s>])", re.IGNORECASE)


def demote_headings(html: str) -> str:
    """``<h1>`` -> ``<h3>``, ``<h2>`` -> ``<h4>`` ... (never past ``<h6>``)."""
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + HEADING_SHIFT, 6)}", html)


def parse_content_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``"text/markdown; variant=GFM"`` -> ``("text/markdown", {"variant": "GFM"})``."""
    mime, _, rest = (content_type or "").partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return mime.strip().lower(), params


def _render(text: str, content_type: str | None) -> str | None:
    mime, params = parse_content_type(content_type)
    if mime in ("", "text/x-rst"):
        # PyPI's default for a missing content type is reStructuredText.
        return readme_renderer.rst.render(text)
    if mime == "text/markdown":
        variant = params.get("variant", "GFM")
        if variant not in MARKDOWN_VARIANTS:
            variant = "GFM"
        return readme_renderer.markdown.render(text, variant=variant)
    return readme_renderer.txt.render(text)


def plain(text: str) -> Markup:
    """Escaped text in a ``<pre>``: the fallback that always works."""
    return Markup(f'<pre class="readme-plain">{escape(text)}</pre>')  # noqa: S704


@lru_cache(maxsize=64)
def render_readme(text: str | None, content_type: str | None = None) -> Markup | None:
    """Sanitised HTML for a README, or None when there is none."""
    if not text or not text.strip():
        return None
    try:
        rendered = _render(text, content_type)
    except Exception:  # a renderer bug must never turn into a 500
        log.warning("README rendering failed for content type %r", content_type, exc_info=True)
        rendered = None
    if not rendered:
        return plain(text)
    # readme_renderer's output has already been cleaned by nh3.
    return Markup(demote_headings(rendered))  # noqa: S704
