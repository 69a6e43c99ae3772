"""argon2id hashing with costs from settings; old-cost hashes are flagged for upgrade."""

from __future__ import annotations

from typing import Literal

from argon2 import PasswordHasher

from bastion.accounts.passwords import Passwords
from bastion.config import Settings
from bastion.services import Services


def cheap(time_cost: int = 1) -> Passwords:
    return Passwords(time_cost=time_cost, memory_kib=1024, parallelism=1)


def test_hash_and_verify() -> None:
    passwords = cheap()
    hashed = passwords.hash("a long passphrase")
    assert hashed.startswith("$argon2id$")
    assert "a long passphrase" not in hashed
    assert passwords.verify(hashed, "a long passphrase")
    assert not passwords.verify(hashed, "a long passphrasE")
    assert not passwords.verify(None, "anything")
    assert not passwords.verify("not-a-hash", "anything")


def test_changed_costs_mark_old_hashes_for_rehash() -> None:
    old = cheap().hash("a long passphrase")
    assert not cheap().needs_rehash(old)
    stronger = Passwords(time_cost=2, memory_kib=2048, parallelism=1)
    assert stronger.needs_rehash(old)
    assert stronger.verify(old, "a long passphrase")  # old hashes still verify
    assert not stronger.needs_rehash(stronger.hash("a long passphrase"))


def test_costs_come_from_settings(settings: Settings, services: Services) -> None:
    hasher = services.passwords.hasher
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )
    other = Passwords.from_settings(settings.model_copy(update={"password_hash_time_cost": 2}))
    assert other.hasher.time_cost == 2
    assert services.passwords.hasher.time_cost == 1  # one registry's costs leave others be


def test_no_hash_costs_a_full_verification() -> None:
    """An unknown user (no hash) is checked against the dummy hash, a real argon2id hash
    of these costs: the same work as a wrong password, never an instant refusal."""
    passwords = cheap()
    assert not passwords.needs_rehash(passwords.dummy_hash)
    checked: list[str | bytes] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            checked.append(hash)
            return super().verify(hash, password)

    passwords.hasher = Counting(time_cost=1, memory_cost=1024, parallelism=1)
    assert not passwords.verify(None, "bastion-dummy-password")
    assert checked == [passwords.dummy_hash]
