"""Fixtures for protection tests: the detectors the app is built with."""

from __future__ import annotations

import pytest

from bastion.services import Services
from tests.protect.detectors import ExpectingJudge, FixedScanner, RecordingComparer, protection


@pytest.fixture
def judge() -> ExpectingJudge:
    return ExpectingJudge()


@pytest.fixture
def scanner() -> FixedScanner:
    return FixedScanner()


@pytest.fixture
def comparer() -> RecordingComparer:
    return RecordingComparer()


@pytest.fixture(autouse=True)
def detectors(
    services: Services, judge: ExpectingJudge, scanner: FixedScanner, comparer: RecordingComparer
) -> None:
    """The services the app is built from carry the test detectors."""
    services.protect = protection(judge=judge, scanner=scanner, comparer=comparer)
