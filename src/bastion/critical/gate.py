"""The one function that decides whether a user may act on a project (placeholder)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    UPLOAD = "upload"
    MANAGE = "manage"
    DELETE = "delete"
    YANK = "yank"
    CREATE_TOKEN = "create token"
