"""Encrypt TOTP secrets at rest with AES-256-GCM (``cryptography``).

The key comes from ``Settings.totp_encryption_key`` or, when that is empty, from
``Settings.secret_key``; either way it goes through HKDF-SHA256 with a purpose label.
Neither key lives in the database, so a database dump alone yields no working secret.
The user id is bound in as associated data, so a ciphertext copied onto another
account's row does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bastion.config import Settings

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretUnreadable(Exception):
    """The stored secret does not decrypt with the configured key (changed or tampered)."""


def _key(settings: Settings) -> bytes:
    material = settings.totp_encryption_key or settings.secret_key
    if not material:
        raise RuntimeError("Set secret_key or totp_encryption_key to encrypt TOTP secrets")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"bastion totp secret v1")
    return hkdf.derive(material.encode())


def _aad(user_id: int) -> bytes:
    return f"bastion-totp-user:{user_id}".encode()


def encrypt_secret(settings: Settings, user_id: int, secret: str) -> str:
    """The secret as ``v1:<base64url(nonce || ciphertext)>``."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(settings)).encrypt(nonce, secret.encode(), _aad(user_id))
    return f"{_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(settings: Settings, user_id: int, token: str) -> str:
    """The plain secret; raises :class:`SecretUnreadable` if it cannot be recovered."""
    version, _, body = token.partition(":")
    if version != _VERSION:
        raise SecretUnreadable(f"unknown TOTP secret format {version!r}")
    try:
        raw = base64.urlsafe_b64decode(body)
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        plain = AESGCM(_key(settings)).decrypt(nonce, sealed, _aad(user_id))
    except (InvalidTag, ValueError) as exc:
        raise SecretUnreadable("the TOTP secret does not decrypt with the configured key") from exc
    return plain.decode()
