"""Region codes (ISO 3166-1 alpha-2): validation and display names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bastion.errors import BadRequest

REGION_RE = re.compile(r"^[A-Z]{2}$")

# Names for the regions a program is likely to serve; other codes show as the code.
REGION_NAMES = {
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "CA": "Canada",
    "CH": "Switzerland",
    "DE": "Germany",
    "DK": "Denmark",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "IT": "Italy",
    "JP": "Japan",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "SE": "Sweden",
    "US": "United States",
}


def region_name(code: str) -> str:
    return REGION_NAMES.get(code, code)


def normalize_region(code: str) -> str:
    """``code`` upper-cased and checked to be two letters."""
    value = code.strip().upper()
    if not REGION_RE.match(value):
        raise BadRequest(
            f"{code!r} is not a region code: use a two-letter ISO 3166-1 code such as DE or US."
        )
    return value


def normalize_regions(codes: Iterable[str]) -> list[str]:
    """Distinct, checked region codes in the order given; at least one."""
    result: list[str] = []
    for code in codes:
        if not code.strip():
            continue
        value = normalize_region(code)
        if value not in result:
            result.append(value)
    if not result:
        raise BadRequest("A program needs at least one eligible region.")
    return result
