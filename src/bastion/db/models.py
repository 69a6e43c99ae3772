"""Imports every domain's models so ``Base.metadata`` knows all tables."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from bastion.db.base import Base

MODEL_MODULES = (
    "bastion.accounts.models",
    "bastion.accounts.limit_models",
    "bastion.accounts.session_models",
    "bastion.accounts.token_models",
    "bastion.accounts.twofactor.models",
    "bastion.packaging.models",
    "bastion.audit.models",
    "bastion.stats.models",
    "bastion.critical.models",
    "bastion.giveaway.models",
    "bastion.metrics.models",
    "bastion.scheduling.models",
    "bastion.protect.names.models",
    "bastion.protect.models",
    "bastion.upstream.models",
)


def load_all() -> MetaData:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
