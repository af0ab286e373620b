"""Storage: the declarative base, engine/session set-up and Alembic migrations."""

from townsquare.db.base import Base
from townsquare.db.engine import Database

__all__ = ["Base", "Database"]
