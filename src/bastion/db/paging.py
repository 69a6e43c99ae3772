"""Numbered pages of a long list: the ``?page=`` parameter and the arithmetic of a page."""

from __future__ import annotations

from bastion.errors import BadRequest

MAX_PAGE = 10_000


def page_number(raw: str | None) -> int:
    """``?page=`` as a number from 1 to MAX_PAGE (1 when absent); 400 for anything else."""
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest(f"The page number must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)


def offset(page: int, per_page: int) -> int:
    """How many rows come before page ``page`` (numbered from 1)."""
    return (page - 1) * per_page


class Paged:
    """What a page of results knows about its place: mixed into frozen dataclasses that
    have ``total``, ``page`` and ``per_page`` fields."""

    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages
