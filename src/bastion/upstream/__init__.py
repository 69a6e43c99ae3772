"""Upstream indexes: the on-demand proxy, origin controls per name, and the cool-down."""
