"""Database: engine and sessions, the declarative base, migrations."""

from bastion.db.base import Base
from bastion.db.engine import Database

__all__ = ["Base", "Database"]
