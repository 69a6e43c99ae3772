"""Download statistics: counting, buffering, daily roll-ups and imports."""
