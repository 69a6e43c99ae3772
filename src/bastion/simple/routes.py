"""Placeholder: the simple API routes."""

from __future__ import annotations

from starlette.routing import BaseRoute

from bastion.services import Services


def make_routes(services: Services) -> list[BaseRoute]:
    return []
