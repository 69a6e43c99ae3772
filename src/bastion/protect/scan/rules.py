"""The scan rules as data: loaded from the shipped TOML file plus operators' files, compiled once.

The file format is documented at the top of ``bastion/protect/data/scan_rules.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bastion.protect.scan.keywords import KeywordIndex
from bastion.protect.scan.report import Severity

SHIPPED_RULES = Path(__file__).resolve().parent.parent / "data" / "scan_rules.toml"
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
CONTEXTS = ("install", "import", "runtime")
# Pattern rules with keywords are tried in a window of this many characters around each
# keyword occurrence (keywords.MAX_OFFSETS of them): far faster than a whole-text search.
WINDOW = 200


class RulesError(ValueError):
    """A rules file that cannot be used (bad TOML, unknown severity, bad regex)."""


@dataclass(frozen=True)
class Requirement:
    """One element of a combination: any of ``capabilities`` in any of ``contexts``."""

    contexts: frozenset[str]
    capabilities: frozenset[str]

    def met_by(self, seen: frozenset[str]) -> str | None:
        """The first ``context:capability`` in ``seen`` that satisfies this, or None."""
        for item in sorted(seen):
            context, _, capability = item.partition(":")
            if capability in self.capabilities and context in self.contexts:
                return item
        return None


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    runtime_severity: Severity | None = None
    import_severity: Severity | None = None
    capability: str | None = None
    contexts: frozenset[str] = frozenset(CONTEXTS)
    pattern: re.Pattern[str] | None = None
    paths: re.Pattern[str] | None = None
    keywords: tuple[str, ...] = ()
    requires: tuple[Requirement, ...] = ()
    per_file: bool = False  # a combination met within one file
    per_function: bool = False  # ... within one function (with the local functions it calls)
    comments: bool = False  # a pattern that counts in Python comments too (obfuscator banners)
    suspicious_at_most: bool = False  # never makes an upload malicious (weak signals)

    def search(self, text: str, offsets: list[int] | None) -> re.Match[str] | None:
        """The first match; with keywords, tried only in windows around their ``offsets``."""
        assert self.pattern is not None
        if not self.keywords:
            return self.pattern.search(text)
        reached = -1
        for start in offsets or ():
            if start < reached:
                continue
            match = self.pattern.search(text, max(0, start - WINDOW), start + WINDOW)
            if match is not None:
                return match
            reached = start + WINDOW // 2
        return None

    def severity_in(self, context: str) -> Severity:
        if context == "runtime" and self.runtime_severity is not None:
            return self.runtime_severity
        if context == "import" and self.import_severity is not None:
            return self.import_severity
        return self.severity


@dataclass(frozen=True)
class RuleSet:
    capability_calls: dict[str, str]  # dotted call name (or "mod.*") -> capability
    by_capability: dict[str, tuple[Rule, ...]]
    patterns: tuple[Rule, ...]
    combinations: tuple[Rule, ...]
    call_names: frozenset[str]  # last components of every call name, for the text fallback
    keyword_index: KeywordIndex  # where each pattern rule's keywords occur (by rule position)
    capped: frozenset[str] = frozenset()  # ids of rules that never make an upload malicious

    def capability_of(self, dotted: str) -> str | None:
        found = self.capability_calls.get(dotted)
        if found is not None:
            return found
        head = dotted
        while "." in head:
            head = head.rsplit(".", 1)[0]
            found = self.capability_calls.get(head + ".*")
            if found is not None:
                return found
        return None


def _severity(value: object, rule_id: str) -> Severity:
    for severity in SEVERITIES:
        if value == severity:
            return severity
    raise RulesError(f"rule {rule_id}: severity must be one of {', '.join(SEVERITIES)}")


def _requirement(text: str) -> Requirement:
    contexts, _, capabilities = text.rpartition(":")
    wanted = frozenset(contexts.split("|")) if contexts else frozenset(CONTEXTS)
    return Requirement(contexts=wanted, capabilities=frozenset(capabilities.split("|")))


def _rule(raw: dict[str, Any], source: Path) -> Rule:
    rule_id = str(raw.get("id") or "")
    if not rule_id:
        raise RulesError(f"{source}: a rule without an id")
    try:
        pattern = re.compile(raw["pattern"]) if "pattern" in raw else None
        paths = re.compile(raw["paths"]) if "paths" in raw else None
    except re.error as exc:
        raise RulesError(f"{source}: rule {rule_id}: bad regular expression: {exc}") from None
    runtime = raw.get("runtime_severity")
    at_import = raw.get("import_severity")
    return Rule(
        id=rule_id,
        description=str(raw.get("description", "")),
        severity=_severity(raw.get("severity"), rule_id),
        runtime_severity=_severity(runtime, rule_id) if runtime is not None else None,
        import_severity=_severity(at_import, rule_id) if at_import is not None else None,
        capability=raw.get("capability"),
        contexts=frozenset(raw.get("context", CONTEXTS)),
        pattern=pattern,
        paths=paths,
        keywords=tuple(str(k).lower() for k in raw.get("keywords", ())),
        requires=tuple(_requirement(item) for item in raw.get("all", ())),
        per_file=raw.get("scope", "archive") == "file",
        per_function=raw.get("scope", "archive") == "function",
        comments=bool(raw.get("comments", False)),
        suspicious_at_most=_at_most(raw.get("at_most"), rule_id),
    )


def _at_most(value: object, rule_id: str) -> bool:
    if value in (None, "malicious"):
        return False
    if value == "suspicious":
        return True
    raise RulesError(f'rule {rule_id}: at_most must be "suspicious" or "malicious"')


@lru_cache(maxsize=8)
def load_rules(extra_files: tuple[Path, ...] = ()) -> RuleSet:
    """The shipped rules plus ``extra_files`` (later files win on equal rule ids)."""
    calls: dict[str, str] = {}
    rules: dict[str, Rule] = {}
    for source in (SHIPPED_RULES, *extra_files):
        try:
            data = tomllib.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RulesError(f"cannot read scan rules {source}: {exc}") from None
        for capability, names in data.get("capabilities", {}).items():
            for name in names:
                calls[str(name)] = str(capability)
        for raw in data.get("rule", []):
            rule = _rule(raw, Path(source))
            rules[rule.id] = rule
    by_capability: dict[str, list[Rule]] = {}
    patterns: list[Rule] = []
    combinations: list[Rule] = []
    for rule in rules.values():
        if rule.requires:
            combinations.append(rule)
        elif rule.pattern is not None:
            patterns.append(rule)
        elif rule.capability:
            by_capability.setdefault(rule.capability, []).append(rule)
    return RuleSet(
        capability_calls=calls,
        by_capability={k: tuple(v) for k, v in by_capability.items()},
        patterns=tuple(patterns),
        combinations=tuple(combinations),
        call_names=frozenset(name.rsplit(".", 1)[-1] for name in calls if not name.endswith("*")),
        keyword_index=KeywordIndex([rule.keywords for rule in patterns]),
        capped=frozenset(rule.id for rule in rules.values() if rule.suspicious_at_most),
    )
