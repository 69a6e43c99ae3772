"""The typosquat detector: a name against the popular-name index, no database.

Rules, each giving a reason (``rule`` id in brackets):

- [lookalike-popular] the name's look-alike key is a popular name's key (``rnatplotlib``,
  ``Pyth0n-Dateutil``). When only separators differ (``json-lines``/``jsonlines``, common
  and mostly legitimate on PyPI) only names up to ``separator_max_rank`` count; keys under
  ``min_length`` never do (``rip``/``rlp`` fold together by accident).
- [typo] one edit (insert, delete, substitute, swap adjacent) from a popular name, scored by
  ``edits.Slip`` weight + popularity + length (``NameRules``). Why length matters: a key of
  four letters has about 250 one-edit neighbours, most of them real, unrelated words, so a
  short name needs a typing slip *and* a very popular target; keys under ``min_length``
  (three letters or fewer) are never matched by edits at all. Ten letters or more make an
  accidental neighbour rare, so any slip counts.
- [two-typos] two edits from a long (``two_edit_min_length``) and very popular name.
- [affix] the same name once an affix is taken off either side (``python-dateutil`` vs
  ``dateutil-py``, ``requests2``), for names up to ``affix_max_rank``.
- [reordered] the same words in another order (``dateutil-python``).
- [embedded] a very popular name (up to ``embed_max_rank``) plus one filler word
  (``requests-2022``, ``colorama-update``).

A name that is itself popular is never flagged for looking like another popular name: the
popular list is evidence both are legitimate (``requests-oauthlib``).
"""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz.distance import OSA

from bastion.protect.names.edits import Slip, one_edit_slip
from bastion.protect.names.index import Popular, PopularIndex
from bastion.protect.names.normalize import canonical, lookalike_key, tokens
from bastion.protect.names.rules import NameRules
from bastion.protect.names.stems import python_stems, stems
from bastion.protect.names.verdict import NameReason

_Add = Callable[["Popular", str, str], None]

FOLDED = "reads the same once look-alike characters are folded"

SLIP_WEIGHT = {
    Slip.SWAPPED: 3,
    Slip.DOUBLED: 3,
    Slip.UNDOUBLED: 3,
    Slip.DROPPED: 2,
    Slip.INSERTED: 2,
    Slip.NEIGHBOUR_KEY: 2,
    Slip.LETTER_DIGIT: 2,
    Slip.REPLACED: 1,
    Slip.END_DROPPED: 1,
    Slip.END_ADDED: 0,
    Slip.LAST_REPLACED: 0,
    Slip.START_ADDED: -1,
    Slip.FIRST_REPLACED: -1,
    Slip.DIGIT: -1,
}


def popularity_bonus(rank: int) -> int:
    """Typosquatters aim at the most installed names: the top 100 weigh most."""
    return 2 if rank <= 100 else 1 if rank <= 1000 else 0 if rank <= 5000 else -1


def length_bonus(length: int) -> int:
    """Short keys have dense neighbourhoods (many real, unrelated names): they weigh less."""
    return -2 if length <= 5 else -1 if length <= 6 else 0 if length <= 9 else 1


def detect(name: str, index: PopularIndex, rules: NameRules) -> list[NameReason]:
    """Every reason ``name`` looks like a popular name it is not (best first, one per target)."""
    own = canonical(name)
    if index.get(own) is not None:
        return []
    key = lookalike_key(name)
    reasons: dict[str, NameReason] = {}

    def add(target: Popular, rule: str, detail: str) -> None:
        if target.name != own and target.name not in reasons:
            reasons[target.name] = NameReason(rule=rule, similar_to=target.name, detail=detail)

    if len(key) >= rules.min_length:
        for target in index.same_key(key):
            only_separators = own.replace("-", "") == target.name.replace("-", "")
            if not only_separators or target.rank <= rules.separator_max_rank:
                add(target, "lookalike-popular", FOLDED)
    if len(key) >= rules.min_length:
        _typos(name, key, index, rules, add)
    _affixes(name, index, rules, add)
    _reordered(name, index, rules, add)
    _embedded(name, index, rules, add)
    return list(reasons.values())


def made_of_known_words(parts: tuple[str, ...], target: Popular, index: PopularIndex) -> bool:
    """Whether every word the name does not share with ``target`` is a word of the popular
    names (``tensorflow-gpu`` next to ``tensorflow-cpu``; ``openai-agent``): a name built from
    real words is a new name, not a slip of the fingers."""
    changed = set(parts) - set(tokens(target.name))
    return bool(changed) and changed <= index.vocabulary


def _slip(own: str, key: str, target: Popular) -> Slip:
    """The slip, read on the canonical names when they too are one edit apart (so digits
    are digits and word boundaries count), else on the look-alike keys."""
    if "-" not in _diff_chars(own, target.name) and OSA.distance(own, target.name) == 1:
        return one_edit_slip(own, target.name)
    return one_edit_slip(key, target.key)


def _diff_chars(a: str, b: str) -> set[str]:
    return set(a) ^ set(b)


def _typos(name: str, key: str, index: PopularIndex, rules: NameRules, add: _Add) -> None:
    parts = tokens(name)
    own = canonical(name)
    for target, distance in index.near(key, 2):
        if len(target.key) < rules.min_length or made_of_known_words(parts, target, index):
            continue
        if distance == 1:
            slip = _slip(own, key, target)
            score = (
                SLIP_WEIGHT[slip] + popularity_bonus(target.rank) + length_bonus(len(target.key))
            )
            if score >= rules.typo_threshold:
                add(target, "typo", slip.value)
        elif (
            len(target.key) >= rules.two_edit_min_length
            and target.rank <= rules.two_edit_max_rank
            and key[0] == target.key[0]
            and abs(len(key) - len(target.key)) <= 1
        ):
            add(target, "two-typos", "two letters changed")


def _affixes(name: str, index: PopularIndex, rules: NameRules, add: _Add) -> None:
    """One affix apart, on one side only: ``requests2`` (added), ``dateutil`` (removed from
    ``python-dateutil``), or one Python marker traded for another (``dateutil-py``).
    Stripping any affix on both sides would pair ``test-1234`` with ``pytest``."""
    key = lookalike_key(name)
    added = [
        t for stem in stems(name, rules.affixes, rules.min_length) for t in index.same_key(stem)
    ]
    swapped = [t for stem in python_stems(name) for t in index.with_python_stem(stem)]
    for target in added + index.with_stem(key) + swapped:
        if target.rank <= rules.affix_max_rank:
            add(target, "affix", "the same name with a prefix or suffix added or removed")


def _reordered(name: str, index: PopularIndex, rules: NameRules, add: _Add) -> None:
    parts = tokens(name)
    if len(parts) < 2:
        return
    for target in index.with_tokens(parts):
        if target.rank <= rules.reorder_max_rank and tokens(target.name) != parts:
            add(target, "reordered", "the same words in another order")


def _embedded(name: str, index: PopularIndex, rules: NameRules, add: _Add) -> None:
    parts = tokens(name)
    if len(parts) < 2:
        return
    for extra_at in (0, len(parts) - 1):
        extra = parts[extra_at]
        if not (extra in rules.fillers or extra.isdigit()):
            continue
        rest = parts[1:] if extra_at == 0 else parts[:-1]
        target = index.get("-".join(rest))
        if target is not None and target.rank <= rules.embed_max_rank:
            add(target, "embedded", f"the popular name with {extra!r} added")
