"""A software WebAuthn authenticator for tests, on ``cryptography`` and ``cbor2``.

It makes genuine ``none``, ``packed`` (self-attestation, ES256) and ``fido-u2f``
(EC P-256 with a self-signed x5c certificate) attestations and ES256 assertions, and
lets a test break any part of them (origin, RP ID, clientData type, flags, counter,
signature).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _cose_es256(key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = key.public_numbers()
    return cbor2.dumps(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _self_signed_cert(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Soft U2F attestation")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass
class SoftCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


class SoftAuthenticator:
    """One authenticator holding any number of credentials."""

    def __init__(self, *, fmt: str = "packed", counter_step: int = 1) -> None:
        self.fmt = fmt  # "none", "packed" or "fido-u2f"
        self.aaguid = bytes(16) if fmt == "fido-u2f" else os.urandom(16)
        self.counter_step = counter_step  # 0: an authenticator without a counter
        self.credentials: list[SoftCredential] = []

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        client_type: str = "webauthn.create",
        flags: int = UP | UV | AT,
        challenge: str | None = None,
        reuse: SoftCredential | None = None,
    ) -> dict[str, Any]:
        """The JSON ``navigator.credentials.create()`` would give for these options
        (``reuse`` answers with an existing credential's id and key)."""
        rp_id = rp_id or options["rp"]["id"]
        cred = reuse or SoftCredential(
            os.urandom(32),
            ec.generate_private_key(ec.SECP256R1()),
            rp_id,
            base64.urlsafe_b64decode(options["user"]["id"] + "=="),
        )
        if reuse is None:
            self.credentials.append(cred)
        client_data = self._client_data(client_type, challenge or options["challenge"], origin)
        rp_hash = hashlib.sha256(rp_id.encode()).digest()
        public = cred.private_key.public_key()
        auth_data = (
            rp_hash
            + bytes([flags])
            + struct.pack(">I", cred.sign_count)
            + self.aaguid
            + struct.pack(">H", len(cred.credential_id))
            + cred.credential_id
            + _cose_es256(public)
        )
        cdh = hashlib.sha256(client_data).digest()
        if self.fmt == "none":
            stmt: dict[str, Any] = {}
        elif self.fmt == "packed":  # self attestation: signed by the credential key itself
            stmt = {"alg": -7, "sig": _sign(cred.private_key, auth_data + cdh)}
        elif self.fmt == "fido-u2f":
            att_key = ec.generate_private_key(ec.SECP256R1())
            raw = public.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            signed = b"\x00" + rp_hash + cdh + cred.credential_id + raw
            stmt = {"sig": _sign(att_key, signed), "x5c": [_self_signed_cert(att_key)]}
        else:
            raise ValueError(self.fmt)
        attestation = cbor2.dumps({"fmt": self.fmt, "attStmt": stmt, "authData": auth_data})
        return {
            "id": b64url(cred.credential_id),
            "rawId": b64url(cred.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "authenticatorAttachment": "cross-platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["usb"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        credential: SoftCredential | None = None,
        rp_id: str | None = None,
        client_type: str = "webauthn.get",
        flags: int = UP | UV,
        sign_count: int | None = None,
        bogus_signature: bool = False,
        challenge: str | None = None,
    ) -> dict[str, Any]:
        """The JSON ``navigator.credentials.get()`` would give (first allowed credential)."""
        if credential is None:
            allowed = {c["id"] for c in options.get("allowCredentials", [])}
            credential = next(c for c in self.credentials if b64url(c.credential_id) in allowed)
        credential.sign_count = (
            credential.sign_count + self.counter_step if sign_count is None else sign_count
        )
        client_data = self._client_data(client_type, challenge or options["challenge"], origin)
        rp_hash = hashlib.sha256((rp_id or credential.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([flags]) + struct.pack(">I", credential.sign_count)
        signature = _sign(credential.private_key, auth_data + hashlib.sha256(client_data).digest())
        if bogus_signature:
            signature = _sign(ec.generate_private_key(ec.SECP256R1()), auth_data)
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "authenticatorAttachment": "cross-platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
        }

    @staticmethod
    def _client_data(client_type: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": client_type, "challenge": challenge, "origin": origin, "crossOrigin": False}
        ).encode()
