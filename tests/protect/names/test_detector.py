"""The detector without a database: forms, slips, the index and each rule."""

from __future__ import annotations

import pytest

from bastion.config import Settings
from bastion.protect.names.detector import detect
from bastion.protect.names.edits import Slip, keyboard_adjacent, one_edit_slip
from bastion.protect.names.index import PopularIndex
from bastion.protect.names.normalize import canonical, lookalike_key
from bastion.protect.names.popular import build_index, parse_ranked
from bastion.protect.names.rules import NameRules

pytestmark = pytest.mark.one_backend

RULES = NameRules.from_settings(Settings())
POPULAR = [
    "requests",
    "python-dateutil",
    "urllib3",
    "numpy",
    "colorama",
    "tensorflow",
    "requests-oauthlib",
    "boto3",
    "matplotlib",
    "six",
    "pip",
]


def index() -> PopularIndex:
    return build_index([(n, i + 1) for i, n in enumerate(POPULAR)], RULES)


def rules_of(name: str) -> list[tuple[str, str | None]]:
    return [(r.rule, r.similar_to) for r in detect(name, index(), RULES)]


def test_lookalike_key_folds_confusables_and_separators() -> None:
    assert lookalike_key("Pyth0n-Dateutil") == lookalike_key("python_dateutil")
    assert lookalike_key("rnatplotlib") == lookalike_key("matplotlib")
    assert lookalike_key("reque5ts") == lookalike_key("requests")
    assert lookalike_key("vvheel") == lookalike_key("wheel")
    assert canonical("Python_Dateutil") == "python-dateutil"


def test_slips() -> None:
    assert one_edit_slip("reqeusts", "requests") is Slip.SWAPPED
    assert one_edit_slip("requessts", "requests") is Slip.DOUBLED
    assert one_edit_slip("colrama", "colorama") is Slip.DROPPED
    assert one_edit_slip("requwsts", "requests") is Slip.NEIGHBOUR_KEY
    assert one_edit_slip("runtime", "suntime") is Slip.FIRST_REPLACED
    assert one_edit_slip("lib13", "lib12") is Slip.DIGIT
    assert keyboard_adjacent("q", "w") and not keyboard_adjacent("q", "p")


def test_index_finds_neighbours_without_scanning() -> None:
    found = index().near(lookalike_key("reqeusts"), 2)
    assert found[0][0].name == "requests" and found[0][1] == 1


def test_typos_of_popular_names_are_flagged() -> None:
    assert ("typo", "requests") in rules_of("reqeusts")
    assert ("typo", "colorama") in rules_of("colorrama")
    assert ("lookalike-popular", "python-dateutil") in rules_of("Pyth0n-Dateutil")
    assert ("two-typos", "tensorflow") in rules_of("tensoflwo")


def test_affixes_reorder_and_embedding() -> None:
    assert ("affix", "python-dateutil") in rules_of("dateutil-py")
    assert ("affix", "python-dateutil") in rules_of("dateutil-python")
    assert ("reordered", "requests-oauthlib") in rules_of("oauthlib-requests")
    assert rules_of("requests-2022")[0][1] == "requests"
    assert ("embedded", "colorama") in rules_of("colorama-update")


def test_popular_names_are_never_flagged_as_look_alikes_of_each_other() -> None:
    assert rules_of("requests-oauthlib") == []


def test_short_names_need_more_than_one_edit_to_be_flagged() -> None:
    # 'six' is too short for edit matching; 'sax', 'pup' are ordinary names.
    assert rules_of("sax") == []
    assert rules_of("pup") == []


def test_ordinary_names_pass() -> None:
    for name in ("my-little-tool", "requestor", "numbat", "acme-widgets"):
        assert rules_of(name) == [], name


def test_parse_ranked_reads_header_and_bare_lists() -> None:
    assert parse_ranked("rank\tname\n1\tRequests\n2\tsix\n") == [("requests", 1), ("six", 2)]
    assert parse_ranked("a\nb\n") == [("a", 1), ("b", 2)]
