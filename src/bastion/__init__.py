"""Bastion: a self-hostable Python package index with PyPI's security model."""

__version__ = "0.1.0"
