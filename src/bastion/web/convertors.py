"""Path convertors for routes whose parameters have a known shape.

``{version:version}`` matches what can be a release's version (PEP 440: an optional
``v``, then a digit), so ``/project/<name>/history/`` can never be taken for a version
and no route depends on the order routers are included in.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class VersionConvertor(Convertor[str]):
    regex = r"[vV]?[0-9][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("version", VersionConvertor())
