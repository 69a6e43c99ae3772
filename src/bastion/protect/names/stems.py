"""Affixes people put around a name: ``python-``, ``py``, ``-lib``, ``-sdk``, ``2``, ``-2022``…

``stems(name, affixes)`` gives the look-alike keys a name has once one such affix is taken off
(as a whole token, or glued on: ``pyrequests``, ``requests2``). Two names that share a stem
differ only by decoration: ``dateutil-python`` and ``python-dateutil`` both have ``dateutil``.
"""

from __future__ import annotations

import re

from bastion.protect.names.normalize import lookalike_key, tokens

_TRAILING_DIGITS = re.compile(r"\d+$")


def stems(name: str, affixes: tuple[str, ...], min_length: int) -> set[str]:
    """Look-alike keys of ``name`` with one affix (token or glued) removed."""
    parts = tokens(name)
    found: set[str] = set()
    if len(parts) > 1:
        if parts[0] in affixes or parts[0].isdigit():
            found.add(lookalike_key("".join(parts[1:])))
        if parts[-1] in affixes or parts[-1].isdigit():
            found.add(lookalike_key("".join(parts[:-1])))
    key = lookalike_key(name)
    for affix in affixes:
        folded = lookalike_key(affix)
        if key.startswith(folded):
            found.add(key[len(folded) :])
        if key.endswith(folded):
            found.add(key[: -len(folded)])
    digits = _TRAILING_DIGITS.search(key)
    if digits:
        found.add(key[: digits.start()])
    found.discard(key)
    return {stem for stem in found if len(stem) >= min_length}


PYTHON_AFFIXES = ("python", "py")
PYTHON_STEM_MIN_LENGTH = 5


def python_stems(name: str) -> set[str]:
    """Keys of ``name`` without a leading or trailing ``python``/``py`` (token or glued).

    Two names with one such stem trade one Python marker for another (``dateutil-py`` for
    ``python-dateutil``). Stems under five letters are left out: ``pythontest`` and
    ``pytest`` share ``test`` by accident.
    """
    return {
        stem for stem in stems(name, PYTHON_AFFIXES, PYTHON_STEM_MIN_LENGTH) if not stem.isdigit()
    } - {lookalike_key(name)}
