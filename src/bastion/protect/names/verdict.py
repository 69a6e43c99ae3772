"""What name protection says about a new project name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NameVerdictKind = Literal["allow", "review", "block"]


@dataclass(frozen=True)
class NameReason:
    rule: str
    similar_to: str | None
    detail: str


@dataclass(frozen=True)
class NameVerdict:
    name: str
    verdict: NameVerdictKind
    reasons: tuple[NameReason, ...] = ()

    @property
    def message(self) -> str:
        """What to tell the uploader: why, and what to do (empty for ``allow``)."""
        if self.verdict == "allow" or not self.reasons:
            return ""
        first = self.reasons[0]
        if self.verdict == "block":
            if first.rule == "lookalike-existing":
                return (
                    f"The name {self.name!r} is too close to the existing project "
                    f"{first.similar_to!r}. Choose a name that reads differently, or upload to "
                    f"{first.similar_to!r} if it is yours."
                )
            if first.rule == "namespace":
                return (
                    f"The name {self.name!r} is in the namespace {first.similar_to!r}, reserved "
                    "for its owner. Choose another name, or ask an administrator for access."
                )
            return (
                f"The name {self.name!r} cannot be registered ({first.detail}). "
                "Choose another name."
            )
        target = f" {first.similar_to!r}" if first.similar_to else ""
        return (
            f"The name {self.name!r} looks like{target} ({first.detail}). The project is held "
            "until an administrator reviews it; nothing else is needed from you."
        )
