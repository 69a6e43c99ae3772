"""Security keys through py_webauthn, driven by a software authenticator."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.twofactor import FactorRejected, PossibleClonedKey, webauthn
from bastion.accounts.twofactor.models import WebAuthnCredential
from bastion.accounts.twofactor.status import FactorAdded, factor_summary
from bastion.audit.events import RequestContext
from bastion.clock import MovableClock
from bastion.errors import BadRequest, Conflict, NotFound, TooManyRequests
from bastion.services import Services
from tests.support.audit import audit_tags
from tests.support.soft_authenticator import UV, SoftAuthenticator, b64url
from tests.support.transaction import in_transaction
from tests.support.twofactor import ORIGIN

SESSION = "session-key-of-the-browser"


async def verify_registration(
    services: Services,
    user: User,
    credential: webauthn.CredentialJSON,
    *,
    label: str,
    session_key: str,
    context: RequestContext | None = None,
) -> FactorAdded:
    """``webauthn.verify_registration`` in the test services."""
    return await webauthn.verify_registration(
        services.db,
        user,
        credential,
        settings=services.settings,
        clock=services.clock,
        label=label,
        session_key=session_key,
        context=context,
    )


async def verify_authentication(
    services: Services,
    user: User,
    credential: webauthn.CredentialJSON,
    *,
    session_key: str,
    context: RequestContext | None = None,
) -> webauthn.CredentialInfo:
    """``webauthn.verify_authentication`` in the test services."""
    return await webauthn.verify_authentication(
        services.db,
        user,
        credential,
        settings=services.settings,
        clock=services.clock,
        session_key=session_key,
        context=context,
    )


async def reg_options(services: Services, user: User, session_key: str = SESSION) -> dict[str, Any]:
    return await in_transaction(
        services, webauthn.registration_options, user, session_key=session_key
    )


async def auth_options(
    services: Services, user: User, session_key: str = SESSION
) -> dict[str, Any]:
    return await in_transaction(
        services, webauthn.authentication_options, user, session_key=session_key
    )


async def register(
    services: Services, user: User, key: SoftAuthenticator, label: str = "Blue key"
) -> FactorAdded:
    options = await reg_options(services, user)
    response = key.create(options, origin=ORIGIN)
    return await verify_registration(services, user, response, label=label, session_key=SESSION)


async def sign_in(
    services: Services, user: User, key: SoftAuthenticator, **overrides: Any
) -> webauthn.CredentialInfo:
    options = await auth_options(services, user)
    response = key.get(options, origin=overrides.pop("origin", ORIGIN), **overrides)
    return await verify_authentication(services, user, response, session_key=SESSION)


@pytest.mark.parametrize("fmt", ["none", "packed", "fido-u2f"])
async def test_register_and_sign_in(services: Services, alice: User, fmt: str) -> None:
    key = SoftAuthenticator(fmt=fmt)
    added = await register(services, alice, key)
    assert len(added.recovery_codes) == 8
    async with services.db.session() as session:
        [info] = await webauthn.list_credentials(session, alice.id)
    assert info.label == "Blue key" and info.attestation_format == fmt
    assert info.transports == ("usb",) and info.last_used is None
    if fmt == "fido-u2f":
        assert info.aaguid == "00000000-0000-0000-0000-000000000000"
    used = await sign_in(services, alice, key)
    assert used.id == info.id and used.sign_count == 1 and used.last_used is not None
    await sign_in(services, alice, key)
    assert "2fa:webauthn:added" in await audit_tags(services, alice.id)


async def test_several_keys_any_of_them_signs_in(services: Services, alice: User) -> None:
    first, second = SoftAuthenticator(), SoftAuthenticator(fmt="none")
    assert (await register(services, alice, first, "Desk")).recovery_codes
    assert (await register(services, alice, second, "Keyring")).recovery_codes == ()
    options = await reg_options(services, alice)
    assert len(options["excludeCredentials"]) == 2
    assert options["attestation"] == "direct"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["rp"] == {"id": "localhost", "name": "Bastion"}
    assert "fido-u2f" not in json.dumps(options)  # formats are not restricted
    options = await auth_options(services, alice)
    assert len(options["allowCredentials"]) == 2 and options["rpId"] == "localhost"
    assert (await sign_in(services, alice, second)).label == "Keyring"
    assert (await sign_in(services, alice, first)).label == "Desk"
    async with services.db.session() as session:
        assert (await factor_summary(session, alice.id)).webauthn_count == 2


async def test_counterless_authenticator_works(services: Services, alice: User) -> None:
    key = SoftAuthenticator(counter_step=0)
    await register(services, alice, key)
    for _ in range(3):
        assert (await sign_in(services, alice, key)).sign_count == 0


async def expect_rejected(
    services: Services,
    user: User,
    key: SoftAuthenticator,
    error: type[Exception] = FactorRejected,
    **overrides: Any,
) -> str:
    with pytest.raises(error) as caught:
        await sign_in(services, user, key, **overrides)
    return str(caught.value)


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost.evil.example:8080",  # look-alike host
        "http://evil-localhost:8080",
        "https://localhost:8080",  # other scheme
        "http://localhost:8081",  # other port
        "http://localhost",
    ],
)
async def test_wrong_origin_is_refused(services: Services, alice: User, origin: str) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    message = await expect_rejected(services, alice, key, origin=origin)
    assert "origin" in message
    with pytest.raises(FactorRejected, match="origin"):
        options = await reg_options(services, alice)
        await verify_registration(
            services, alice, key.create(options, origin=origin), label="x", session_key=SESSION
        )


async def test_wrong_rp_id_is_refused(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    assert "RP ID" in await expect_rejected(services, alice, key, rp_id="evil.example")
    options = await reg_options(services, alice)
    with pytest.raises(FactorRejected, match="RP ID"):
        await verify_registration(
            services,
            alice,
            key.create(options, origin=ORIGIN, rp_id="localhost.evil.example"),
            label="x",
            session_key=SESSION,
        )


async def test_wrong_client_data_type_is_refused(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    assert "type" in await expect_rejected(services, alice, key, client_type="webauthn.create")
    options = await reg_options(services, alice)
    with pytest.raises(FactorRejected, match="type"):
        await verify_registration(
            services,
            alice,
            key.create(options, origin=ORIGIN, client_type="webauthn.get"),
            label="x",
            session_key=SESSION,
        )


async def test_user_presence_is_required(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    assert "present" in await expect_rejected(services, alice, key, flags=UV)
    options = await reg_options(services, alice)
    with pytest.raises(FactorRejected, match="presence"):
        await verify_registration(
            services,
            alice,
            key.create(options, origin=ORIGIN, flags=0x40 | UV),
            label="x",
            session_key=SESSION,
        )


async def test_bogus_signature_is_refused(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    assert "signature" in await expect_rejected(services, alice, key, bogus_signature=True)
    async with services.db.session() as session:
        [info] = await webauthn.list_credentials(session, alice.id)
    assert info.sign_count == 0 and info.last_used is None  # nothing moved
    assert "2fa:webauthn:possible-clone" not in await audit_tags(services, alice.id)


async def test_challenge_is_single_use(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await auth_options(services, alice)
    first = key.get(options, origin=ORIGIN)
    await verify_authentication(services, alice, first, session_key=SESSION)
    again = key.get(options, origin=ORIGIN)  # a fresh, higher counter, same challenge
    with pytest.raises(FactorRejected, match="expired or was already used"):
        await verify_authentication(services, alice, again, session_key=SESSION)
    with pytest.raises(FactorRejected, match="expired or was already used"):
        await verify_authentication(services, alice, first, session_key=SESSION)


async def test_registration_challenge_is_single_use(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    options = await reg_options(services, alice)
    await verify_registration(
        services, alice, key.create(options, origin=ORIGIN), label="one", session_key=SESSION
    )
    with pytest.raises(FactorRejected, match="already used"):
        await verify_registration(
            services, alice, key.create(options, origin=ORIGIN), label="two", session_key=SESSION
        )


async def test_challenge_failed_once_is_spent(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await auth_options(services, alice)
    with pytest.raises(FactorRejected, match="signature"):
        await verify_authentication(
            services,
            alice,
            key.get(options, origin=ORIGIN, bogus_signature=True),
            session_key=SESSION,
        )
    with pytest.raises(FactorRejected, match="already used"):
        await verify_authentication(
            services, alice, key.get(options, origin=ORIGIN), session_key=SESSION
        )


async def test_expired_challenge_is_refused(
    services: Services, alice: User, clock: MovableClock
) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await auth_options(services, alice)
    assert options["timeout"] == 300_000
    clock.advance(timedelta(minutes=5, seconds=1))
    with pytest.raises(FactorRejected, match="expired"):
        await verify_authentication(
            services, alice, key.get(options, origin=ORIGIN), session_key=SESSION
        )


async def test_challenge_from_another_session_is_refused(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await auth_options(services, alice, session_key="victim-session")
    response = key.get(options, origin=ORIGIN)
    with pytest.raises(FactorRejected):
        await verify_authentication(services, alice, response, session_key="attacker")
    # The victim's own session can still use it: a wrong session does not spend it.
    await verify_authentication(services, alice, response, session_key="victim-session")


async def test_invented_challenge_is_refused(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await auth_options(services, alice)
    with pytest.raises(FactorRejected):
        await verify_authentication(
            services,
            alice,
            key.get(options, origin=ORIGIN, challenge=b64url(b"x" * 32)),
            session_key=SESSION,
        )


async def test_registration_challenge_cannot_authenticate(services: Services, alice: User) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await reg_options(services, alice)
    response = key.get(
        {
            "challenge": options["challenge"],
            "allowCredentials": [{"id": b64url(key.credentials[0].credential_id)}],
        },
        origin=ORIGIN,
    )
    with pytest.raises(FactorRejected):
        await verify_authentication(services, alice, response, session_key=SESSION)


async def test_other_users_credential_is_refused(
    services: Services, alice: User, bob: User
) -> None:
    alice_key, bob_key = SoftAuthenticator(), SoftAuthenticator()
    await register(services, alice, alice_key)
    await register(services, bob, bob_key)
    options = await auth_options(services, alice)  # signing in as alice
    response = bob_key.get(options, origin=ORIGIN, credential=bob_key.credentials[0])
    with pytest.raises(FactorRejected, match="not registered to this account"):
        await verify_authentication(services, alice, response, session_key=SESSION)


@pytest.mark.parametrize("backwards_to", [0, 3, 5])
async def test_cloned_key_is_refused_and_counter_never_lowered(
    services: Services, alice: User, backwards_to: int
) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    await sign_in(services, alice, key, sign_count=5)
    with pytest.raises(PossibleClonedKey, match="copied"):
        await sign_in(services, alice, key, sign_count=backwards_to)
    async with services.db.session() as session:
        stored = await session.scalar(select(WebAuthnCredential.sign_count))
    assert stored == 5
    tags = await audit_tags(services, alice.id)
    assert tags.count("2fa:webauthn:possible-clone") == 1
    assert (await sign_in(services, alice, key, sign_count=6)).sign_count == 6


async def test_clone_event_records_both_counters(services: Services, alice: User) -> None:
    from bastion.audit.models import AuditEvent

    key = SoftAuthenticator()
    await register(services, alice, key)
    await sign_in(services, alice, key, sign_count=9)
    with pytest.raises(PossibleClonedKey):
        await sign_in(services, alice, key, sign_count=2)
    async with services.db.session() as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.tag == "2fa:webauthn:possible-clone")
        )
    assert event is not None
    assert event.details["stored_sign_count"] == 9 and event.details["asserted_sign_count"] == 2


async def test_concurrent_assertions_with_one_counter(services: Services, alice: User) -> None:
    """Two genuine assertions carrying the same counter: exactly one is accepted."""
    key = SoftAuthenticator()
    await register(services, alice, key)
    one, two = await auth_options(services, alice), await auth_options(services, alice)
    a = key.get(one, origin=ORIGIN, sign_count=7)
    b = key.get(two, origin=ORIGIN, sign_count=7)
    results = await asyncio.gather(
        verify_authentication(services, alice, a, session_key=SESSION),
        verify_authentication(services, alice, b, session_key=SESSION),
        return_exceptions=True,
    )
    assert sum(isinstance(r, webauthn.CredentialInfo) for r in results) == 1, results
    assert sum(isinstance(r, PossibleClonedKey) for r in results) == 1, results


async def test_credential_registered_to_another_account_is_refused(
    services: Services, alice: User, bob: User
) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await reg_options(services, bob)
    response = key.create(options, origin=ORIGIN, reuse=key.credentials[0])
    with pytest.raises(Conflict, match="already registered"):
        await verify_registration(services, bob, response, label="mine", session_key=SESSION)
    async with services.db.session() as session:
        assert await webauthn.list_credentials(session, bob.id) == []
        assert (await factor_summary(session, bob.id)).recovery_codes_left == 0
    # ...and registering it twice on the same account is refused too.
    options = await reg_options(services, alice)
    response = key.create(options, origin=ORIGIN, reuse=key.credentials[0])
    with pytest.raises(Conflict):
        await verify_registration(services, alice, response, label="again", session_key=SESSION)


def _mangle(response: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(response))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


GARBAGE_CBOR = b64url(b"\xff\xfe\x00garbage")
NOT_BASE64 = "%%%not*base64%%%"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("response", "attestationObject"), GARBAGE_CBOR),
        (("response", "attestationObject"), NOT_BASE64),
        (("response", "attestationObject"), b64url(cbor2.dumps({"fmt": "packed"}))),
        (("response", "attestationObject"), b64url(cbor2.dumps([1, 2, 3]))),
        (
            ("response", "attestationObject"),
            b64url(
                cbor2.dumps(
                    {"fmt": "packed", "attStmt": {"alg": "x", "sig": 5}, "authData": b"\x00" * 10}
                )
            ),
        ),
        (("response", "clientDataJSON"), NOT_BASE64),
        (("response", "clientDataJSON"), b64url(b"not json")),
        (("response", "clientDataJSON"), b64url(b"\xff\xfe")),
        (("response", "clientDataJSON"), b64url(b'{"type": "webauthn.create"}')),
        (("response", "clientDataJSON"), b64url(b'{"type":"x","challenge":5,"origin":1}')),
        (("rawId",), NOT_BASE64),
        (("response",), "nope"),
        (("id",), 17),
    ],
)
async def test_malformed_registration_is_bad_request(
    services: Services, alice: User, path: tuple[str, ...], value: Any
) -> None:
    key = SoftAuthenticator()
    options = await reg_options(services, alice)
    response = _mangle(key.create(options, origin=ORIGIN), path, value)
    with pytest.raises(BadRequest):
        await verify_registration(services, alice, response, label="x", session_key=SESSION)


@pytest.mark.parametrize("raw", ["", "{", "[]", "null", '"string"', '{"id": 1}'])
async def test_malformed_json_is_bad_request(services: Services, alice: User, raw: str) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    with pytest.raises(BadRequest):
        await verify_registration(services, alice, raw, label="x", session_key=SESSION)
    with pytest.raises(BadRequest):
        await verify_authentication(services, alice, raw, session_key=SESSION)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("response", "authenticatorData"), NOT_BASE64),
        (("response", "authenticatorData"), b64url(b"\x00" * 5)),
        (("response", "signature"), NOT_BASE64),
        (("response", "signature"), b64url(b"\x30\x02\x00")),
        (("response", "clientDataJSON"), b64url(b"[1]")),
        (("response", "userHandle"), 12),
        (("rawId",), b64url(b"")),
    ],
)
async def test_malformed_assertion_is_refused_cleanly(
    services: Services, alice: User, path: tuple[str, ...], value: Any
) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    options = await auth_options(services, alice)
    response = _mangle(key.get(options, origin=ORIGIN), path, value)
    with pytest.raises((BadRequest, FactorRejected)):  # 400 or 401, never a crash
        await verify_authentication(services, alice, response, session_key=SESSION)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-20] + b"\xff" * 20,  # a point that is not on the curve
        lambda data: data[:-40],  # the COSE key's CBOR cut short
        lambda data: data[:-77] + b"\xff" * 77,  # the COSE key's CBOR garbled
    ],
)
async def test_cose_key_garbage_in_attested_data_is_bad_request(
    services: Services, alice: User, damage: Callable[[bytes], bytes]
) -> None:
    key = SoftAuthenticator(fmt="none")
    options = await reg_options(services, alice)
    response = key.create(options, origin=ORIGIN)
    att = cbor2.loads(base64.urlsafe_b64decode(response["response"]["attestationObject"] + "=="))
    att["authData"] = damage(att["authData"])
    response["response"]["attestationObject"] = b64url(cbor2.dumps(att))
    with pytest.raises(BadRequest):
        await verify_registration(services, alice, response, label="x", session_key=SESSION)


async def test_failures_count_against_the_limiter(
    services: Services, alice: User, ctx: RequestContext
) -> None:
    key = SoftAuthenticator()
    await register(services, alice, key)
    for _ in range(5):
        options = await auth_options(services, alice)
        with pytest.raises(FactorRejected):
            await verify_authentication(
                services,
                alice,
                key.get(options, origin=ORIGIN, bogus_signature=True),
                session_key=SESSION,
                context=ctx,
            )
    options = await auth_options(services, alice)
    with pytest.raises(TooManyRequests):
        await verify_authentication(
            services, alice, key.get(options, origin=ORIGIN), session_key=SESSION, context=ctx
        )


@pytest.mark.parametrize("label", ["", "   ", "x" * 65, "bad\x00label"])
async def test_label_is_checked_first(services: Services, alice: User, label: str) -> None:
    key = SoftAuthenticator()
    options = await reg_options(services, alice)
    response = key.create(options, origin=ORIGIN)
    with pytest.raises(BadRequest, match="name"):
        await verify_registration(services, alice, response, label=label, session_key=SESSION)
    # Nothing was spent: the same response registers with a good label.
    await verify_registration(services, alice, response, label=" Spare ", session_key=SESSION)
    async with services.db.session() as session:
        assert [k.label for k in await webauthn.list_credentials(session, alice.id)] == ["Spare"]


async def test_remove_key(services: Services, alice: User, bob: User) -> None:
    first, second = SoftAuthenticator(), SoftAuthenticator()
    await register(services, alice, first, "Desk")
    await register(services, alice, second, "Keyring")
    async with services.db.session() as session:
        desk, keyring = await webauthn.list_credentials(session, alice.id)
    async with services.db.transaction() as session:
        with pytest.raises(NotFound):  # not bob's to remove
            await webauthn.remove_credential(session, bob, desk.id, now=services.clock.now())
    async with services.db.transaction() as session:
        await webauthn.remove_credential(session, alice, desk.id, now=services.clock.now())
    async with services.db.session() as session:
        summary = await factor_summary(session, alice.id)
    assert summary.webauthn_count == 1 and summary.recovery_codes_left == 8
    with pytest.raises(FactorRejected):
        await sign_in(services, alice, first, credential=first.credentials[0])
    async with services.db.transaction() as session:
        await webauthn.remove_credential(session, alice, keyring.id, now=services.clock.now())
    async with services.db.session() as session:
        summary = await factor_summary(session, alice.id)
    assert not summary.enabled and summary.recovery_codes_left == 0
    async with services.db.transaction() as session:
        with pytest.raises(BadRequest):
            await webauthn.authentication_options(
                session,
                alice,
                settings=services.settings,
                now=services.clock.now(),
                session_key=SESSION,
            )
    assert (await audit_tags(services, alice.id)).count("2fa:webauthn:removed") == 2


async def test_origins_default_to_base_url(services: Services) -> None:
    services.settings = services.settings.model_copy(
        update={
            "webauthn_origins": [],
            "base_url": "https://pkgs.example.org:8443/some/path",
        }
    )
    assert webauthn.expected_origins(services.settings) == ["https://pkgs.example.org:8443"]
    services.settings = services.settings.model_copy(
        update={"webauthn_origins": ["https://a.example", "https://b.example"]}
    )
    assert webauthn.expected_origins(services.settings) == [
        "https://a.example",
        "https://b.example",
    ]


def test_rp_id_and_origins_follow_the_base_url() -> None:
    from bastion.config import Settings

    local = Settings(base_url="http://127.0.0.1:8080")
    assert webauthn.rp_id(local) == "localhost"
    assert webauthn.expected_origins(local) == [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
    ]
    public = Settings(base_url="https://pypi.example.org")
    assert webauthn.rp_id(public) == "pypi.example.org"
    assert webauthn.expected_origins(public) == ["https://pypi.example.org"]
    pinned = Settings(base_url="https://pypi.example.org", webauthn_rp_id="example.org")
    assert webauthn.rp_id(pinned) == "example.org"
