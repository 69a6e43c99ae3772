"""Simple repository API: PEP 503/691/658/700 rendering and caching."""
