"""Where the pattern rules' keywords occur in a text: one pass with yara-x, or ``str.find``.

Pattern rules list lower-case keywords; a rule's regex is only tried in a window around
their occurrences. yara-x (Aho-Corasick atoms, in Rust) finds every keyword of every rule
in one pass; without it, each keyword is looked for with ``str.find`` (slower, same result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:  # optional: the fallback below gives the same answers, more slowly
    import yara_x

    HAVE_YARA = True
except ImportError:  # pragma: no cover - yara-x is a declared dependency
    HAVE_YARA = False

MAX_OFFSETS = 50  # keyword occurrences tried per rule and member


def _yara_string(keyword: str) -> str:
    escaped = keyword.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}" nocase'


class KeywordIndex:
    """Finds, for each rule (by position in ``keywords``), where its keywords occur."""

    def __init__(self, keywords: Sequence[tuple[str, ...]]) -> None:
        self.keywords = tuple(keywords)
        self.compiled: Any = None
        if HAVE_YARA:
            source = []
            for index, words in enumerate(self.keywords):
                if words:
                    strings = "\n".join(
                        f"    $k{n} = {_yara_string(w)}" for n, w in enumerate(words)
                    )
                    body = f"  strings:\n{strings}\n  condition:\n    any of them"
                    source.append(f"rule r{index} {{\n{body}\n}}")
            self.compiled = yara_x.compile("\n".join(source)) if source else None

    def offsets(self, data: bytes, lowered: str) -> dict[int, list[int]]:
        """Rule index -> start offsets of its keywords (at most ``MAX_OFFSETS``)."""
        if self.compiled is not None:
            found: dict[int, list[int]] = {}
            for rule in self.compiled.scan(data).matching_rules:
                starts = sorted(m.offset for p in rule.patterns for m in p.matches)
                found[int(rule.identifier[1:])] = starts[:MAX_OFFSETS]
            return found
        return self._find_all(lowered)

    def _find_all(self, lowered: str) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        for index, words in enumerate(self.keywords):
            starts: list[int] = []
            for word in words:
                start = lowered.find(word)
                while start != -1 and len(starts) < MAX_OFFSETS:
                    starts.append(start)
                    start = lowered.find(word, start + 1)
            if starts:
                found[index] = sorted(starts)[:MAX_OFFSETS]
        return found
