"""Password hashing with argon2id (argon2-cffi); never hand-rolled.

One :class:`Passwords` per service registry, built from Settings (``password_hash_*``);
hashes made with other parameters are upgraded on the next successful sign-in (see
:meth:`Passwords.needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bastion.config import Settings


class Passwords:
    """Hashes and checks passwords with one set of argon2id costs."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verifying against it keeps "no such user" as slow as "wrong password".
        self.dummy_hash = self.hasher.hash("bastion-dummy-password")

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; constant work even when there is no hash."""
        try:
            matched = self.hasher.verify(password_hash or self.dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with parameters other than these."""
        return self.hasher.check_needs_rehash(password_hash)
