"""``Range`` request headers as RFC 9110 (section 14) says to treat them.

A header that is not a valid ``bytes`` range set, or names another unit, is ignored
(the whole file, 200); a valid set none of whose ranges overlaps the file is 416.
"""

from __future__ import annotations

import re
from enum import Enum

_RANGE_SPEC = re.compile(r"^(?:(\d+)-(\d*)|-(\d+))$")


class RangeVerdict(Enum):
    IGNORE = "ignore"  # no header, another unit, or invalid: send the whole file
    PARTIAL = "partial"  # at least one satisfiable range: 206
    UNSATISFIABLE = "unsatisfiable"  # 416 with ``Content-Range: bytes */<size>``


def judge_range(header: str | None, size: int) -> RangeVerdict:
    """What to do with ``header`` for a representation of ``size`` bytes."""
    if header is None:
        return RangeVerdict.IGNORE
    unit, _, ranges = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not ranges.strip():
        return RangeVerdict.IGNORE
    satisfiable = False
    for spec in ranges.split(","):
        match = _RANGE_SPEC.match(spec.strip())
        if match is None:
            return RangeVerdict.IGNORE
        first, last, suffix = match.groups()
        if suffix is not None:
            satisfiable |= int(suffix) > 0 and size > 0
            continue
        if last and int(last) < int(first):
            return RangeVerdict.IGNORE  # an invalid range-spec makes the whole set invalid
        satisfiable |= int(first) < size
    return RangeVerdict.PARTIAL if satisfiable else RangeVerdict.UNSATISFIABLE
