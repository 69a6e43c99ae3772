"""An index of popular names for typo look-ups without scanning them one by one.

Symmetric delete: every popular look-alike key is stored under each string made by deleting
up to ``max_deletes`` of its characters. Two keys within ``d`` edits share such a string, so a
look-up generates the candidate's own deletes (a few hundred strings at most), gathers the
popular keys they point at and checks each with an exact edit distance. Built once per
process, then extended in place as names are added.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from bastion.protect.names.normalize import canonical, lookalike_key, tokens
from bastion.protect.names.stems import python_stems, stems


@dataclass(frozen=True)
class Popular:
    """One protected name: its canonical form, look-alike key and rank (1 = most used)."""

    name: str
    key: str
    rank: int


def deletes(key: str, depth: int) -> set[str]:
    """``key`` with every choice of up to ``depth`` (1 or 2) characters removed, and itself."""
    found = {key}
    frontier = {key}
    for _ in range(min(depth, len(key) - 1)):
        frontier = {v[:i] + v[i + 1 :] for v in frontier for i in range(len(v))}
        found |= frontier
    return found


@dataclass
class PopularIndex:
    """Popular names by key, by delete variant, by token set and by single token."""

    two_edit_min_length: int = 10
    two_edit_max_rank: int = 300
    affixes: tuple[str, ...] = ()
    min_length: int = 4
    entries: dict[str, Popular] = field(default_factory=dict)  # canonical name -> entry
    by_key: dict[str, list[Popular]] = field(default_factory=dict)
    by_variant: dict[str, list[str]] = field(default_factory=dict)  # variant -> keys
    by_token_set: dict[frozenset[str], list[Popular]] = field(default_factory=dict)
    by_stem: dict[str, list[Popular]] = field(default_factory=dict)  # see stems.py
    by_python_stem: dict[str, list[Popular]] = field(default_factory=dict)
    vocabulary: set[str] = field(default_factory=set)  # every word of every popular name
    longest: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0})  # by delete depth

    @classmethod
    def build(
        cls,
        ranked: Iterable[tuple[str, int]],
        *,
        two_edit_min_length: int = 10,
        two_edit_max_rank: int = 300,
        affixes: tuple[str, ...] = (),
        min_length: int = 4,
    ) -> PopularIndex:
        """An index of ``(name, rank)`` pairs."""
        index = cls(
            two_edit_min_length=two_edit_min_length,
            two_edit_max_rank=two_edit_max_rank,
            affixes=affixes,
            min_length=min_length,
        )
        for name, rank in ranked:
            index.add(name, rank)
        return index

    def add(self, name: str, rank: int) -> None:
        """Add (or re-rank, keeping the better rank) one popular name."""
        name = canonical(name)
        known = self.entries.get(name)
        if known is not None and known.rank <= rank:
            return
        entry = Popular(name=name, key=lookalike_key(name), rank=rank)
        self.entries[name] = entry
        same = self.by_key.setdefault(entry.key, [])
        _insert(same, entry)
        if known is None or self._depth(entry) > self._depth(known):
            # Two deletes only for long, very popular keys: the only ones matched two edits
            # away, and the bulk of the index's size and build time otherwise.
            depth = self._depth(entry)
            self.longest[depth] = max(self.longest[depth], len(entry.key))
            for variant in deletes(entry.key, depth):
                keys = self.by_variant.setdefault(variant, [])
                if entry.key not in keys:
                    keys.append(entry.key)
        parts = tokens(name)
        self.vocabulary.update(parts)
        if len(parts) > 1:
            _insert(self.by_token_set.setdefault(frozenset(parts), []), entry)
        for stem in stems(name, self.affixes, self.min_length) | {entry.key}:
            _insert(self.by_stem.setdefault(stem, []), entry)
        for stem in python_stems(name):
            _insert(self.by_python_stem.setdefault(stem, []), entry)

    def _depth(self, entry: Popular) -> int:
        long = len(entry.key) >= self.two_edit_min_length
        return 2 if long and entry.rank <= self.two_edit_max_rank else 1

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, name: str) -> Popular | None:
        return self.entries.get(canonical(name))

    def same_key(self, key: str) -> list[Popular]:
        """Popular names whose look-alike key is exactly ``key``."""
        return self.by_key.get(key, [])

    def near(self, key: str, max_distance: int) -> list[tuple[Popular, int]]:
        """Popular names within ``max_distance`` (1 or 2) edits of ``key``, best rank first.

        Edits are insertions, deletions, substitutions and adjacent transpositions (optimal
        string alignment distance) on look-alike keys; the exact key itself is left out.
        """
        # Keys more than two letters longer than every indexed key cannot be near one.
        if len(key) > max(self.longest.values()) + 2:
            return []
        long_enough = self.two_edit_min_length - 2 <= len(key) <= self.longest[2] + 2
        depth = 2 if max_distance >= 2 and long_enough else 1
        seen: set[str] = {key}
        found: list[tuple[Popular, int]] = []
        for variant in deletes(key, depth):
            for other in self.by_variant.get(variant, ()):
                if other in seen:
                    continue
                seen.add(other)
                distance = OSA.distance(key, other, score_cutoff=max_distance)
                if distance <= max_distance:
                    found.extend((entry, distance) for entry in self.by_key[other])
        found.sort(key=lambda pair: (pair[1], pair[0].rank))
        return found

    def with_tokens(self, parts: Iterable[str]) -> list[Popular]:
        """Popular multi-word names made of exactly these tokens, in any order."""
        return self.by_token_set.get(frozenset(parts), [])

    def with_python_stem(self, stem: str) -> list[Popular]:
        """Popular names that are ``stem`` once a ``python``/``py`` marker is removed."""
        return self.by_python_stem.get(stem, [])

    def with_stem(self, stem: str) -> list[Popular]:
        """Popular names that are ``stem`` once an affix is removed (or ``stem`` itself)."""
        return self.by_stem.get(stem, [])


def _insert(group: list[Popular], entry: Popular) -> None:
    """Put ``entry`` in ``group`` (replacing an older entry of its name), best rank first."""
    group[:] = [e for e in group if e.name != entry.name]
    group.append(entry)
    group.sort(key=lambda e: e.rank)
