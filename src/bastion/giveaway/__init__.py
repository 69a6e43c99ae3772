"""Security-key giveaway: programs, promo codes, eligibility, claims and reports."""
