"""Audit: security-relevant events, per user and per project."""
