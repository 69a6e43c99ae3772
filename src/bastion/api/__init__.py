"""JSON API compatible with PyPI (/pypi/<name>/json)."""
