"""Name forms: PEP 503 canonical form, the look-alike key and tokens.

The look-alike key is stricter than PEP 503: it lower-cases, drops every separator and folds
characters people confuse when reading (``0``/``o``, ``1``/``l``/``i``, ``rn``/``m``,
``vv``/``w``, ``5``/``s``), so ``Pyth0n-Dateutil`` and ``python_dateutil`` share one key. Two
projects with one key cannot both exist (PyPI's "ultranormalized" rule, extended).
"""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

_SEPARATORS = re.compile(r"[-_.]+")
# Multi-letter look-alikes first, then single characters.
_PAIRS = (("rn", "m"), ("vv", "w"))
_SINGLE = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s"})


def canonical(name: str) -> str:
    """The PEP 503 normalised name: what makes two names the same project."""
    return canonicalize_name(name)


def lookalike_key(name: str) -> str:
    """The key two names share when a reader could take one for the other."""
    key = _SEPARATORS.sub("", name.lower())
    for pair, single in _PAIRS:
        key = key.replace(pair, single)
    return key.translate(_SINGLE)


def tokens(name: str) -> tuple[str, ...]:
    """The words of a name: its canonical form split on ``-`` (empty parts dropped)."""
    return tuple(part for part in canonical(name).split("-") if part)
