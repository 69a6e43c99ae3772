"""The JSON API tests seed data with the simple API's helper."""

from tests.simple.conftest import Seeded, Seeder, seed

__all__ = ["Seeded", "Seeder", "seed"]
