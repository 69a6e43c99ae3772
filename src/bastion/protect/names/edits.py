"""What kind of slip turns one look-alike key into another, one edit apart.

Typosquats are made of typing slips: two letters swapped, a letter doubled or dropped in the
middle of a word, a neighbouring key hit instead. Legitimate new names near a popular one
differ in ways people choose: a different first letter (``runtime``/``suntime``), a letter or
digit appended (``molecules``, ``cu12``/``cu13``). Each kind gets a weight; the detector adds
popularity and length to it (see ``detector.py``).
"""

from __future__ import annotations

from enum import Enum

_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_POSITION = {ch: (row, col) for row, keys in enumerate(_ROWS) for col, ch in enumerate(keys)}


def keyboard_adjacent(a: str, b: str) -> bool:
    """Whether two keys touch on a QWERTY keyboard."""
    if a == b or a not in _POSITION or b not in _POSITION:
        return False
    (r1, c1), (r2, c2) = _POSITION[a], _POSITION[b]
    return abs(r1 - r2) <= 1 and abs(c1 - c2) <= 1


class Slip(Enum):
    """One edit, from the most typo-like to the most deliberate-looking."""

    SWAPPED = "two adjacent letters swapped"
    DOUBLED = "a letter doubled"
    UNDOUBLED = "a double letter made single"
    DROPPED = "a letter dropped"
    INSERTED = "a letter inserted"
    NEIGHBOUR_KEY = "a letter replaced by its keyboard neighbour"
    REPLACED = "a letter replaced"
    END_DROPPED = "the first or last letter dropped"
    END_ADDED = "a letter added at the end"
    START_ADDED = "a letter added at the start"
    LAST_REPLACED = "the last letter replaced"
    FIRST_REPLACED = "the first letter replaced"
    LETTER_DIGIT = "a letter replaced by a digit"
    DIGIT = "a digit added, removed or changed"


def _starts_word(text: str, i: int) -> bool:
    return i == 0 or text[i - 1] == "-"


def _ends_word(text: str, i: int) -> bool:
    return i == len(text) - 1 or text[i + 1] == "-"


def one_edit_slip(candidate: str, target: str) -> Slip:
    """The kind of the single edit (OSA distance 1) that turns ``target`` into ``candidate``.

    Both are canonical names or look-alike keys; with ``-`` kept, the start and end of each
    word count as edges (``pytest-pspec`` → ``pytest-pyspec`` adds a letter to a word's
    start: a new word more than a slip).
    """
    if len(candidate) == len(target) + 1:
        return _insertion(candidate, target)
    if len(candidate) + 1 == len(target):
        return _deletion(candidate, target)
    diff = [i for i, (a, b) in enumerate(zip(candidate, target, strict=True)) if a != b]
    if len(diff) == 2:
        return Slip.SWAPPED
    i = diff[0]
    a, b = candidate[i], target[i]
    if a.isdigit() and b.isdigit():
        return Slip.DIGIT
    if _starts_word(candidate, i) or _ends_word(candidate, i):
        if a.isdigit() or b.isdigit():
            return Slip.DIGIT
        if _starts_word(candidate, i):
            return Slip.FIRST_REPLACED
        return Slip.NEIGHBOUR_KEY if keyboard_adjacent(a, b) else Slip.LAST_REPLACED
    if a.isdigit() or b.isdigit():
        return Slip.LETTER_DIGIT
    return Slip.NEIGHBOUR_KEY if keyboard_adjacent(a, b) else Slip.REPLACED


def _first_difference(longer: str, shorter: str) -> int:
    return next((i for i, ch in enumerate(shorter) if ch != longer[i]), len(shorter))


def _insertion(candidate: str, target: str) -> Slip:
    i = _first_difference(candidate, target)
    ch = candidate[i]
    if ch.isdigit():
        return Slip.DIGIT
    if (i > 0 and candidate[i - 1] == ch) or (i + 1 < len(candidate) and candidate[i + 1] == ch):
        return Slip.DOUBLED
    if _starts_word(candidate, i):
        return Slip.START_ADDED
    if _ends_word(candidate, i):
        return Slip.END_ADDED
    return Slip.INSERTED


def _deletion(candidate: str, target: str) -> Slip:
    i = _first_difference(target, candidate)
    ch = target[i]
    if ch.isdigit():
        return Slip.DIGIT
    if (i > 0 and target[i - 1] == ch) or (i + 1 < len(target) and target[i + 1] == ch):
        return Slip.UNDOUBLED
    if _starts_word(target, i) or _ends_word(target, i):
        return Slip.END_DROPPED
    return Slip.DROPPED
