"""WebAuthn / FIDO security keys with py_webauthn (package ``webauthn`` v3).

The RP ID and accepted origins come from Settings (``webauthn_rp_id``,
``webauthn_origins``, default the origin of ``base_url``). Every attestation format
py_webauthn verifies is accepted, legacy ``fido-u2f`` included. Challenges live in the
database: single-use, bound to a caller-provided session key (stored hashed) and
expiring after ``Settings.webauthn_challenge_seconds``. A signature counter that does
not move forward is refused and audited as a possible cloned key; the stored counter
only ever grows. Malformed JSON, base64 or CBOR raises ``BadRequest``, never a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_attestation_object,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bastion.accounts import limits
from bastion.accounts.limits import Attempt
from bastion.accounts.models import User
from bastion.accounts.twofactor import FactorRejected, PossibleClonedKey, ratelimit
from bastion.accounts.twofactor.models import WebAuthnChallenge, WebAuthnCredential
from bastion.accounts.twofactor.recovery import issue_codes
from bastion.accounts.twofactor.status import (
    FactorAdded,
    check_removal,
    has_two_factor,
    lock_factors,
    void_recovery_codes,
)
from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import BadRequest, Conflict, NotFound

REGISTER = "register"
AUTHENTICATE = "authenticate"
LABEL_MAX = 64
CredentialJSON = str | dict[str, Any]


@dataclass(frozen=True)
class CredentialInfo:
    """A registered security key as the account pages show it."""

    id: int
    label: str
    created: datetime
    last_used: datetime | None
    attestation_format: str
    aaguid: str
    transports: tuple[str, ...]
    sign_count: int


class _Duplicate(Exception):
    pass


def _info(row: WebAuthnCredential) -> CredentialInfo:
    return CredentialInfo(
        id=row.id,
        label=row.label,
        created=row.created,
        last_used=row.last_used,
        attestation_format=row.attestation_format,
        aaguid=row.aaguid,
        transports=tuple(row.transports or ()),
        sign_count=row.sign_count,
    )


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def rp_id(settings: Settings) -> str:
    """``webauthn_rp_id``, or the host of ``base_url`` ("localhost" for a loopback address:
    browsers refuse an IP address as RP ID)."""
    if settings.webauthn_rp_id:
        return settings.webauthn_rp_id
    host = urlsplit(settings.base_url).hostname or "localhost"
    return "localhost" if _is_loopback_ip(host) else host


def expected_origins(settings: Settings) -> list[str]:
    """``webauthn_origins``, or the scheme://host[:port] of ``base_url`` (and its
    ``localhost`` twin when the base URL is a loopback address)."""
    if settings.webauthn_origins:
        return list(settings.webauthn_origins)
    parts = urlsplit(settings.base_url)
    origins = [f"{parts.scheme}://{parts.netloc}"]
    if _is_loopback_ip(parts.hostname or ""):
        port = f":{parts.port}" if parts.port else ""
        origins.append(f"{parts.scheme}://localhost{port}")
    return origins


def _session_hash(session_key: str) -> str:
    if not session_key:
        raise ValueError("a WebAuthn challenge needs a non-empty session key")
    return hashlib.sha256(session_key.encode()).hexdigest()


def _user_handle(user: User) -> bytes:
    return str(user.id).encode()


def _clean_label(label: str) -> str:
    """NFKC, trimmed, 1..LABEL_MAX characters, with no control or format characters
    (bidi overrides and isolates, zero-width joiners...) that could disguise a name."""
    text = unicodedata.normalize("NFKC", label).strip()
    if not text or len(text) > LABEL_MAX:
        raise BadRequest(f"Give the security key a name of 1 to {LABEL_MAX} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for c in text):
        raise BadRequest(
            "The security key's name contains invisible or control characters (such as "
            "text-direction overrides): use letters, digits, spaces and punctuation only."
        )
    return text


async def _keys(session: AsyncSession, user_id: int) -> list[WebAuthnCredential]:
    rows = await session.scalars(
        select(WebAuthnCredential)
        .where(WebAuthnCredential.user_id == user_id)
        .order_by(WebAuthnCredential.created, WebAuthnCredential.id)
    )
    return list(rows)


def _descriptors(rows: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for row in rows:
        transports = []
        for value in row.transports or ():
            try:
                transports.append(AuthenticatorTransport(value))
            except ValueError:
                continue
        out.append(
            PublicKeyCredentialDescriptor(id=row.credential_id, transports=transports or None)
        )
    return out


async def _new_challenge(
    session: AsyncSession,
    user: User,
    purpose: str,
    session_key: str,
    *,
    settings: Settings,
    now: datetime,
) -> bytes:
    await session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires < now))
    challenge = os.urandom(32)
    session.add(
        WebAuthnChallenge(
            user_id=user.id,
            purpose=purpose,
            challenge=challenge,
            session_hash=_session_hash(session_key),
            created=now,
            expires=now + timedelta(seconds=settings.webauthn_challenge_seconds),
            used=False,
        )
    )
    return challenge


async def _consume_challenge(
    db: Database, challenge: bytes, *, clock: Clock, purpose: str, user: User, session_key: str
) -> str | None:
    """Mark the challenge used if it is ours to use; else say why not."""
    now = clock.now()
    async with db.transaction() as session:
        row = await session.scalar(
            select(WebAuthnChallenge).where(WebAuthnChallenge.challenge == challenge)
        )
        if (
            row is None
            or row.purpose != purpose
            or row.user_id != user.id
            or not hmac.compare_digest(row.session_hash, _session_hash(session_key))
        ):
            return "unknown challenge"
        if row.used:
            return "challenge already used"
        if row.expires <= now:
            return "challenge expired"
        result = await session.execute(
            update(WebAuthnChallenge)
            .where(WebAuthnChallenge.id == row.id, WebAuthnChallenge.used.is_(False))
            .values(used=True)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return "challenge already used"
    return None


_STALE = (
    "This security key request has expired or was already used. Start again and touch "
    "your key when asked."
)


async def registration_options(
    session: AsyncSession, user: User, *, settings: Settings, now: datetime, session_key: str
) -> dict[str, Any]:
    """Options for ``navigator.credentials.create()`` (caller commits the challenge)."""
    existing = await _keys(session, user.id)
    challenge = await _new_challenge(
        session, user, REGISTER, session_key, settings=settings, now=now
    )
    options = generate_registration_options(
        rp_id=rp_id(settings),
        rp_name=settings.webauthn_rp_name,
        user_name=user.username,
        user_id=_user_handle(user),
        user_display_name=user.username,
        challenge=challenge,
        timeout=settings.webauthn_challenge_seconds * 1000,
        attestation=AttestationConveyancePreference(settings.webauthn_attestation),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


@contextmanager
def _readable_response() -> Iterator[None]:
    """Turn any parse failure of a browser's credential into a 400, never a 500."""
    try:
        yield
    except Exception as exc:
        raise BadRequest(
            "The security key's response could not be read (malformed JSON, base64 or CBOR)."
        ) from exc


def _parse_registration(credential: CredentialJSON) -> tuple[RegistrationCredential, bytes]:
    """The parsed credential and the challenge it answers; BadRequest if malformed."""
    with _readable_response():
        parsed = parse_registration_credential_json(credential)
        client_data = parse_client_data_json(parsed.response.client_data_json)
        parse_attestation_object(parsed.response.attestation_object)
    return parsed, client_data.challenge


def _parse_authentication(credential: CredentialJSON) -> tuple[AuthenticationCredential, bytes]:
    """The parsed assertion and the challenge it answers; BadRequest if malformed."""
    with _readable_response():
        parsed = parse_authentication_credential_json(credential)
        client_data = parse_client_data_json(parsed.response.client_data_json)
        parse_authenticator_data(parsed.response.authenticator_data)
    return parsed, client_data.challenge


async def verify_registration(
    db: Database,
    user: User,
    credential: CredentialJSON,
    *,
    settings: Settings,
    clock: Clock,
    label: str,
    session_key: str,
    context: RequestContext | None = None,
) -> FactorAdded:
    """Verify ``navigator.credentials.create()``'s result and store the key (own transactions).

    Returns recovery codes to show once when this is the user's first second factor.
    """
    label = _clean_label(label)

    async def refuse(reason: str, error: Exception) -> Exception:
        await ratelimit.fail(
            db,
            clock=clock,
            user_id=user.id,
            context=context,
            kind="webauthn-register",
            reason=reason,
        )
        return error

    try:
        parsed, challenge = _parse_registration(credential)
    except BadRequest as exc:
        raise await refuse("malformed response", exc) from None
    problem = await _consume_challenge(
        db, challenge, clock=clock, purpose=REGISTER, user=user, session_key=session_key
    )
    if problem:
        raise await refuse(problem, FactorRejected(_STALE))
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id(settings),
            expected_origin=expected_origins(settings),
            require_user_presence=True,
            require_user_verification=False,
        )
    except WebAuthnException as exc:
        raise await refuse(
            str(exc), FactorRejected(f"The security key could not be registered: {exc}")
        ) from None
    except Exception:
        raise await refuse(
            "malformed attestation", BadRequest("The security key's attestation could not be read.")
        ) from None

    try:  # "none" attestation signs nothing: make sure the key is a usable one
        decoded_public_key_to_cryptography(
            decode_credential_public_key(verified.credential_public_key)
        )
    except Exception:
        raise await refuse(
            "unusable public key",
            BadRequest("The security key sent a public key that cannot be used."),
        ) from None
    now = clock.now()
    fmt = str(getattr(verified.fmt, "value", verified.fmt))
    codes: tuple[str, ...] = ()
    try:
        async with db.transaction() as session:
            await lock_factors(session, user.id)
            taken = await session.scalar(
                select(WebAuthnCredential.id).where(
                    WebAuthnCredential.credential_id == verified.credential_id
                )
            )
            if taken is not None:
                raise _Duplicate
            first = not await has_two_factor(session, user.id)
            session.add(
                WebAuthnCredential(
                    user_id=user.id,
                    credential_id=verified.credential_id,
                    public_key=verified.credential_public_key,
                    sign_count=verified.sign_count,
                    transports=[t.value for t in parsed.response.transports or ()],
                    aaguid=verified.aaguid,
                    attestation_format=fmt,
                    label=label,
                    created=now,
                )
            )
            await session.flush()
            if first:
                issued = await issue_codes(
                    session, user.id, settings=settings, now=now, context=context
                )
                codes = tuple(issued)
            record(
                session,
                tag="2fa:webauthn:added",
                when=now,
                context=context,
                user_id=user.id,
                label=label,
                attestation_format=fmt,
                aaguid=verified.aaguid,
            )
    except (_Duplicate, IntegrityError):
        raise await refuse(
            "credential already registered",
            Conflict(
                "This security key is already registered to an account. Use another key, or "
                "remove it from the other account first."
            ),
        ) from None
    return FactorAdded(recovery_codes=codes, label=label)


async def authentication_options(
    session: AsyncSession, user: User, *, settings: Settings, now: datetime, session_key: str
) -> dict[str, Any]:
    """Options for ``navigator.credentials.get()`` (caller commits the challenge)."""
    keys = await _keys(session, user.id)
    if not keys:
        raise BadRequest("This account has no security key registered.")
    challenge = await _new_challenge(
        session, user, AUTHENTICATE, session_key, settings=settings, now=now
    )
    options = generate_authentication_options(
        rp_id=rp_id(settings),
        challenge=challenge,
        timeout=settings.webauthn_challenge_seconds * 1000,
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


async def verify_authentication(
    db: Database,
    user: User,
    credential: CredentialJSON,
    *,
    settings: Settings,
    clock: Clock,
    session_key: str,
    context: RequestContext | None = None,
) -> CredentialInfo:
    """Verify ``navigator.credentials.get()``'s result for ``user`` (own transactions).

    Returns the key that was used. Raises TooManyRequests, BadRequest, FactorRejected or
    PossibleClonedKey.
    """
    attempt = await ratelimit.begin(
        db, settings=settings, clock=clock, user=user, context=context, kind="webauthn"
    )
    try:
        info = await _check_assertion(
            db,
            user,
            credential,
            settings=settings,
            clock=clock,
            session_key=session_key,
            context=context,
            attempt=attempt,
        )
    except (FactorRejected, BadRequest):
        raise
    except BaseException:
        await limits.finish(db, attempt, limits.REFUSED)
        raise
    await ratelimit.succeed(db, attempt)
    return info


async def _check_assertion(
    db: Database,
    user: User,
    credential: CredentialJSON,
    *,
    settings: Settings,
    clock: Clock,
    session_key: str,
    context: RequestContext | None,
    attempt: Attempt,
) -> CredentialInfo:
    """Verify the assertion (the attempt is already counted); every refusal ends it failed."""

    async def refuse(reason: str, error: Exception, **details: Any) -> Exception:
        await ratelimit.fail(
            db,
            clock=clock,
            user_id=user.id,
            context=context,
            kind="webauthn",
            reason=reason,
            attempt=attempt,
            **details,
        )
        return error

    try:
        parsed, challenge = _parse_authentication(credential)
    except BadRequest as exc:
        raise await refuse("malformed response", exc) from None
    problem = await _consume_challenge(
        db, challenge, clock=clock, purpose=AUTHENTICATE, user=user, session_key=session_key
    )
    if problem:
        raise await refuse(problem, FactorRejected(_STALE))
    async with db.session() as session:
        row = await session.scalar(
            select(WebAuthnCredential).where(WebAuthnCredential.credential_id == parsed.raw_id)
        )
    if row is None or row.user_id != user.id:
        raise await refuse(
            "security key not registered to this account",
            FactorRejected("This security key is not registered to this account."),
        )
    try:
        # The counter is checked below, after the signature, so only a genuine
        # assertion can be recorded as a possible clone.
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id(settings),
            expected_origin=expected_origins(settings),
            credential_public_key=row.public_key,
            credential_current_sign_count=0,
            require_user_verification=False,
        )
    except WebAuthnException as exc:
        raise await refuse(
            str(exc),
            FactorRejected(f"The security key's response was not accepted: {exc}"),
            label=row.label,
        ) from None
    except Exception:
        raise await refuse(
            "malformed assertion",
            BadRequest("The security key's response could not be read."),
            label=row.label,
        ) from None

    asserted = verified.new_sign_count
    now = clock.now()
    advanced = False
    if asserted > row.sign_count or (asserted == 0 and row.sign_count == 0):
        async with db.transaction() as session:
            result = await session.execute(
                update(WebAuthnCredential)
                .where(
                    WebAuthnCredential.id == row.id,
                    WebAuthnCredential.sign_count == 0
                    if asserted == 0
                    else WebAuthnCredential.sign_count < asserted,
                )
                .values(sign_count=asserted, last_used=now)
            )
            advanced = result.rowcount == 1  # type: ignore[attr-defined]
    if not advanced:
        raise await refuse(
            "possible cloned key",
            PossibleClonedKey(
                "This security key's signature counter went backwards, which suggests it may "
                "have been copied. It was not accepted; use another factor and consider "
                "removing this key."
            ),
            also_tag="2fa:webauthn:possible-clone",
            label=row.label,
            stored_sign_count=row.sign_count,
            asserted_sign_count=asserted,
        )
    row.sign_count, row.last_used = asserted, now
    return _info(row)


async def list_credentials(session: AsyncSession, user_id: int) -> list[CredentialInfo]:
    """The user's security keys, oldest first."""
    return [_info(row) for row in await _keys(session, user_id)]


async def remove_credential(
    session: AsyncSession,
    user: User,
    credential_id: int,
    *,
    now: datetime,
    context: RequestContext | None = None,
) -> None:
    """Remove one of the user's keys by its row id (caller commits); last-factor removal
    goes through ``status.remove_factor_allowed`` and voids the recovery codes."""
    await lock_factors(session, user.id)
    row = await session.scalar(
        select(WebAuthnCredential).where(
            WebAuthnCredential.id == credential_id, WebAuthnCredential.user_id == user.id
        )
    )
    if row is None:
        raise NotFound("No such security key on this account.")
    last = await check_removal(session, user, removing_keys=1)
    await session.delete(row)
    if last:
        await void_recovery_codes(session, user.id)
    record(
        session,
        tag="2fa:webauthn:removed",
        when=now,
        context=context,
        user_id=user.id,
        label=row.label,
        last_factor=last,
    )
