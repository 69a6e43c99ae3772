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
