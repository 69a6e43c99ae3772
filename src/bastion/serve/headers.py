"""Response headers every read-path answer carries."""

from __future__ import annotations

# A browser must not run a served file (or an error) as another type than it says.
NOSNIFF = (b"x-content-type-options", b"nosniff")
