"""The detector's thresholds, read from settings (``BASTION_NAMES_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.config import Settings


@dataclass(frozen=True)
class NameRules:
    """How close to a popular name a new name may come, and what the scores weigh.

    A one-edit neighbour of a popular name is flagged when
    ``slip weight + popularity bonus + length bonus >= typo_threshold``: a typing slip
    (swap, doubled letter) on a top-100, ten-letter name scores high; a changed first letter
    on a rank-9,000 five-letter name does not.
    """

    typo_threshold: int = 2
    min_length: int = 4  # keys shorter than this are never matched by edits
    two_edit_min_length: int = 10  # keys at least this long are matched within two edits
    two_edit_max_rank: int = 1000
    affix_max_rank: int = 1000  # `py-`, `-python`, digits… around a popular name
    embed_max_rank: int = 300  # a popular name plus one extra word
    reorder_max_rank: int = 15000
    separator_max_rank: int = 1000  # `json-lines` vs `jsonlines`: only for names this popular
    fillers: tuple[str, ...] = ()
    affixes: tuple[str, ...] = ()
    # A ranked list used instead of the bundled one (None: the bundled one).
    popular_file: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> NameRules:
        return cls(
            typo_threshold=settings.names_typo_threshold,
            min_length=settings.names_min_length,
            two_edit_min_length=settings.names_two_edit_min_length,
            two_edit_max_rank=settings.names_two_edit_max_rank,
            affix_max_rank=settings.names_affix_max_rank,
            embed_max_rank=settings.names_embed_max_rank,
            reorder_max_rank=settings.names_reorder_max_rank,
            separator_max_rank=settings.names_separator_max_rank,
            fillers=tuple(settings.names_filler_words),
            affixes=tuple(settings.names_affixes),
            popular_file=str(settings.names_popular_file) if settings.names_popular_file else None,
        )
