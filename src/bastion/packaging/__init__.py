"""Packaging: projects, releases, files, roles, names and the upload pipeline."""
