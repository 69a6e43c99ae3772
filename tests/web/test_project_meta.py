from __future__ import annotations

from bastion.web.project_meta import Link, safe_url, sidebar


def test_safe_url_only_allows_absolute_http() -> None:
    assert safe_url("https://example.org/x") == "https://example.org/x"
    assert safe_url(" http://example.org ") == "http://example.org"
    for bad in (
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "//evil",
        "/x",
        "http://",
        "http://[::1",
    ):
        assert safe_url(bad) is None, bad


def test_full_sidebar() -> None:
    bar = sidebar(
        {
            "author": "Ada",
            "author_email": "ada@example.org",
            "maintainer_email": "team@example.org",
            "license": "MIT",
            "license_expression": "MIT OR Apache-2.0",
            "home_page": "https://example.org",
            "project_urls": {
                "Homepage": "https://example.org",
                "Source": "https://git.example.org",
                "Evil": "javascript:alert(1)",
            },
            "classifiers": [
                "License :: OSI Approved :: MIT License",
                "Programming Language :: Python :: 3",
                "Programming Language :: Python :: 3.12",
                "Private",
            ],
            "requires_dist": ["httpx>=0.27", "rich; extra == 'cli'"],
            "provides_extra": ["cli"],
            "keywords": "index, packaging,  pip",
        }
    )
    assert bar.links == [
        Link("Homepage", "https://example.org"),
        Link("Source", "https://git.example.org"),
        Link("Evil", None),
    ]
    assert bar.people == [("Author", "Ada <ada@example.org>"), ("Maintainer", "team@example.org")]
    assert bar.license == "MIT OR Apache-2.0"
    assert bar.keywords == ["index", "packaging", "pip"]
    assert bar.classifiers == {
        "License": ["OSI Approved :: MIT License"],
        "Programming Language": ["Python :: 3", "Python :: 3.12"],
        "Private": ["Private"],
    }
    assert bar.requires_dist == ["httpx>=0.27", "rich; extra == 'cli'"]
    assert bar.provides_extra == ["cli"]


def test_missing_or_malformed_metadata_is_tolerated() -> None:
    empty = sidebar(None)
    assert empty.links == [] and empty.license is None and empty.classifiers == {}
    odd = sidebar(
        {
            "author": 42,
            "license": "UNKNOWN",
            "project_urls": ["not", "a", "dict"],
            "classifiers": "not a list",
            "requires_dist": [1, None, "ok"],
            "keywords": ["a", " ", "b"],
        }
    )
    assert odd.people == [] and odd.license is None and odd.links == []
    assert odd.classifiers == {} and odd.requires_dist == ["ok"] and odd.keywords == ["a", "b"]


def test_long_licence_text_is_shortened() -> None:
    text = "Permission is hereby granted, free of charge\n" + "x" * 500
    assert sidebar({"license": text}).license == "Permission is hereby granted, free of charge…"


def test_space_separated_keywords() -> None:
    assert sidebar({"keywords": "web  index"}).keywords == ["web", "index"]
