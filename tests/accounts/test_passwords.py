"""argon2id hashing with costs from settings; old-cost hashes are flagged for upgrade."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bastion.accounts import passwords


@pytest.fixture
def restore_costs() -> Iterator[None]:
    hasher = passwords._state.hasher
    yield
    passwords.configure(
        time_cost=hasher.time_cost, memory_kib=hasher.memory_cost, parallelism=hasher.parallelism
    )


def test_hash_and_verify() -> None:
    hashed = passwords.hash_password("a long passphrase")
    assert hashed.startswith("$argon2id$")
    assert "a long passphrase" not in hashed
    assert passwords.verify_password(hashed, "a long passphrase")
    assert not passwords.verify_password(hashed, "a long passphrasE")
    assert not passwords.verify_password(None, "anything")
    assert not passwords.verify_password("not-a-hash", "anything")


def test_changed_costs_mark_old_hashes_for_rehash(restore_costs: None) -> None:
    old = passwords.hash_password("a long passphrase")
    assert not passwords.needs_rehash(old)
    passwords.configure(time_cost=2, memory_kib=2048, parallelism=1)
    assert passwords.needs_rehash(old)
    assert passwords.verify_password(old, "a long passphrase")  # old hashes still verify
    assert not passwords.needs_rehash(passwords.hash_password("a long passphrase"))
