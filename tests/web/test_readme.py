from __future__ import annotations

from unittest import mock

import pytest
import readme_renderer.markdown

from bastion.web import readme
from bastion.web.readme import parse_content_type, render_readme


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    render_readme.cache_clear()


def test_parse_content_type() -> None:
    assert parse_content_type('text/markdown; charset=UTF-8; variant="GFM"') == (
        "text/markdown",
        {"charset": "UTF-8", "variant": "GFM"},
    )
    assert parse_content_type(None) == ("", {})
    assert parse_content_type("Text/X-RST") == ("text/x-rst", {})


def test_markdown_is_rendered() -> None:
    html = render_readme("# Title\n\nSome **bold** text.", "text/markdown")
    assert html is not None
    assert "<strong>bold</strong>" in html
    assert "<h1" not in html and '<h3 id="user-content-title">Title' in html  # demoted


def test_headings_are_demoted_but_never_past_h6() -> None:
    html = render_readme("# A\n\n## B\n\n##### E\n\n###### F\n", "text/markdown")
    assert html is not None
    assert '<h3 id="user-content-a">A' in html and '<h4 id="user-content-b">B' in html
    assert '<h6 id="user-content-e">E' in html and '<h6 id="user-content-f">F' in html


def test_commonmark_variant_and_unknown_variant() -> None:
    assert "<em>x</em>" in str(render_readme("*x*", "text/markdown; variant=CommonMark"))
    assert "<em>x</em>" in str(render_readme("*x*", "text/markdown; variant=Nonsense"))


def test_rst_is_rendered_and_is_the_default() -> None:
    text = "Title\n=====\n\nSome *emphasis*.\n"
    for content_type in ("text/x-rst", None):
        html = str(render_readme(text, content_type))
        assert "<em>emphasis</em>" in html


def test_plain_text_is_escaped() -> None:
    html = str(render_readme("a < b\n<script>alert(1)</script>", "text/plain"))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_unknown_content_type_is_plain_text() -> None:
    html = str(render_readme("*not markdown*", "application/x-nonsense"))
    assert "<em>" not in html and "*not markdown*" in html


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ("<script>alert(1)</script>\n\nhello", "text/markdown"),
        ('<img src=x onerror="alert(1)">', "text/markdown"),
        ("[click](javascript:alert(1))", "text/markdown"),
        ('<a href="javascript:alert(1)">x</a>', "text/markdown"),
        ("<iframe src='https://evil.example'></iframe>", "text/markdown"),
        (".. raw:: html\n\n   <script>alert(1)</script>\n", "text/x-rst"),
        ("`x <javascript:alert(1)>`_\n", "text/x-rst"),
    ],
)
def test_hostile_html_is_sanitised(text: str, content_type: str) -> None:
    html = str(render_readme(text, content_type)).lower()
    assert "<script" not in html
    assert "onerror" not in html
    assert 'href="javascript:' not in html
    assert "<iframe" not in html


def test_broken_rst_falls_back_to_escaped_text() -> None:
    text = "Title\n===\n\n.. unknown-directive::\n\n<b>bold?</b>\n"
    html = str(render_readme(text, "text/x-rst"))
    assert html.startswith('<pre class="readme-plain">')
    assert "<b>" not in html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html


def test_renderer_crash_falls_back_to_escaped_text() -> None:
    with mock.patch.object(readme, "_render", side_effect=RuntimeError("boom")):
        html = str(render_readme("<b>x</b>", "text/markdown"))
    assert html == '<pre class="readme-plain">&lt;b&gt;x&lt;/b&gt;</pre>'


def test_markdown_renderer_missing_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readme_renderer.markdown, "render", lambda *a, **k: None)
    html = str(render_readme("<i>x</i>", "text/markdown"))
    assert "&lt;i&gt;x&lt;/i&gt;" in html


def test_empty_description_is_none() -> None:
    assert render_readme(None) is None
    assert render_readme("  \n") is None
