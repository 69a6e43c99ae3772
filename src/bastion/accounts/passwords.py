"""Password hashing with argon2id (argon2-cffi); never hand-rolled.

The cost parameters come from Settings (``password_hash_*``) through :func:`configure`,
called once when services are built; hashes made with other parameters are upgraded
on the next successful sign-in (see :func:`needs_rehash`).
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass
class _State:
    hasher: PasswordHasher
    dummy_hash: str  # verifying against it keeps "no such user" as slow as "wrong password"


def _make(hasher: PasswordHasher) -> _State:
    return _State(hasher, hasher.hash("bastion-dummy-password"))


_state = _make(PasswordHasher())


def configure(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Use these argon2id costs from now on (no-op when they are already in force)."""
    global _state
    current = _state.hasher
    if (current.time_cost, current.memory_cost, current.parallelism) != (
        time_cost, memory_kib, parallelism,
    ):
        _state = _make(
            PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        )


def hash_password(password: str) -> str:
    return _state.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; constant work even when there is no hash."""
    state = _state
    try:
        matched = state.hasher.verify(password_hash or state.dummy_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with parameters other than the current ones."""
    return _state.hasher.check_needs_rehash(password_hash)
