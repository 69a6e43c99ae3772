"""Page numbers from ``?page=`` and the arithmetic every paged list shares."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bastion.db.paging import Paged, offset, page_number
from bastion.errors import BadRequest


def test_page_numbers() -> None:
    assert page_number(None) == 1 and page_number("3") == 3
    for bad in ("0", "-1", "x", "10001"):
        with pytest.raises(BadRequest, match="whole number from 1 to"):
            page_number(bad)


@dataclass(frozen=True)
class Rows(Paged):
    total: int
    page: int
    per_page: int


def test_page_arithmetic() -> None:
    assert Rows(total=0, page=1, per_page=10).pages == 1
    middle = Rows(total=25, page=2, per_page=10)
    assert middle.pages == 3 and middle.has_previous and middle.has_next
    assert not Rows(total=25, page=3, per_page=10).has_next
    assert offset(1, 10) == 0 and offset(3, 10) == 20
