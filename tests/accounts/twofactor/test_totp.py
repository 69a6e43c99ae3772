"""TOTP: RFC vectors through our code path, enrolment, replay, skew, encryption at rest."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.twofactor import (
    AuthenticatorKeyChanged,
    ClockSkew,
    CodeAlreadyUsed,
    FactorRejected,
    normalize_code,
    totp,
)
from bastion.accounts.twofactor.crypto import SecretUnreadable, decrypt_secret
from bastion.accounts.twofactor.models import TOTPEnrollment
from bastion.accounts.twofactor.status import factor_summary, has_two_factor
from bastion.audit.events import RequestContext
from bastion.clock import MovableClock
from bastion.errors import BadRequest, BastionError, Conflict, NotFound
from bastion.services import Services
from tests.support.audit import audit_tags
from tests.support.twofactor import confirm_totp, full_width, start_totp, verify_totp, wrong_code

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()

# RFC 4226 appendix D: HOTP values for counters 0..9.
HOTP_VECTORS = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]
# RFC 6238 appendix B, SHA-1 column: (unix time, 8-digit TOTP).
TOTP_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_rfc4226_hotp_vectors() -> None:
    for counter, expected in enumerate(HOTP_VECTORS):
        assert totp.code_at(RFC_SECRET, counter) == expected
        assert totp.find_step(RFC_SECRET, expected, counter, [0]) == counter


def test_rfc6238_totp_vectors_eight_digits() -> None:
    for seconds, expected in TOTP_VECTORS:
        step = totp.time_step(at(seconds))
        assert totp.code_at(RFC_SECRET, step, digits=8) == expected
        assert totp.find_step(RFC_SECRET, expected, step, [0], digits=8) == step


async def enrol(services: Services, user: User, clock: MovableClock, secret: str) -> None:
    await start_totp(services, user, secret=secret)
    await confirm_totp(services, user, totp.code_at(secret, totp.time_step(clock.now())))


async def test_rfc6238_vectors_through_verify(
    services: Services, alice: User, clock: MovableClock
) -> None:
    """The 6-digit codes (last six digits of the RFC values) at the RFC times."""
    clock.set(at(29))
    await enrol(services, alice, clock, RFC_SECRET)
    for seconds, expected in TOTP_VECTORS:
        clock.set(at(seconds))
        assert await verify_totp(services, alice, expected[-6:]) == seconds // 30


async def test_rfc4226_vectors_through_verify(
    services: Services, alice: User, clock: MovableClock
) -> None:
    clock.set(at(0))
    await start_totp(services, alice, secret=RFC_SECRET)
    await confirm_totp(services, alice, HOTP_VECTORS[0])
    for counter in range(1, 10):
        clock.set(at(counter * 30 + 7))
        assert await verify_totp(services, alice, HOTP_VECTORS[counter]) == counter


async def test_enrolment_flow(services: Services, alice: User, clock: MovableClock) -> None:
    start = await start_totp(services, alice)
    assert start.uri.startswith("otpauth://totp/") and "issuer=Bastion" in start.uri
    assert start.qr_svg.startswith("<svg")
    async with services.db.session() as session:
        assert not await has_two_factor(session, alice.id)
    with pytest.raises(BadRequest):  # not active before confirmation
        await verify_totp(services, alice, pyotp.TOTP(start.secret).at(clock.now()))
    with pytest.raises(FactorRejected):
        await confirm_totp(services, alice, wrong_code(start.secret, clock.now()))
    added = await confirm_totp(services, alice, pyotp.TOTP(start.secret).at(clock.now()))
    assert len(added.recovery_codes) == services.settings.recovery_code_count
    async with services.db.session() as session:
        summary = await factor_summary(session, alice.id)
    assert summary.totp and summary.recovery_codes_left == 8
    async with services.db.transaction() as session:
        with pytest.raises(Conflict):
            await totp.begin_enrollment(
                session, alice, settings=services.settings, now=services.clock.now()
            )
    clock.advance(timedelta(seconds=30))
    await verify_totp(services, alice, pyotp.TOTP(start.secret).at(clock.now()))
    tags = await audit_tags(services, alice.id)
    assert "2fa:totp:started" in tags and "2fa:totp:enrolled" in tags
    assert "2fa:recovery:generated" in tags and "2fa:failure" in tags


async def test_restarting_enrolment_replaces_the_secret(
    services: Services, alice: User, clock: MovableClock
) -> None:
    first = await start_totp(services, alice)
    second = await start_totp(services, alice)
    assert first.secret != second.secret
    await confirm_totp(services, alice, pyotp.TOTP(second.secret).at(clock.now()))


async def test_secret_is_encrypted_at_rest(
    services: Services, alice: User, clock: MovableClock, bob: User
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    async with services.db.session() as session:
        row = await session.scalar(select(TOTPEnrollment).where(TOTPEnrollment.user_id == alice.id))
    assert row is not None
    assert secret not in row.secret_encrypted
    assert decrypt_secret(services.settings, alice.id, row.secret_encrypted) == secret
    other = services.settings.model_copy(update={"secret_key": "another-key"})
    with pytest.raises(SecretUnreadable):
        decrypt_secret(other, alice.id, row.secret_encrypted)
    with pytest.raises(SecretUnreadable):  # copied onto another account's row
        decrypt_secret(services.settings, bob.id, row.secret_encrypted)
    dedicated = services.settings.model_copy(update={"totp_encryption_key": "dedicated"})
    with pytest.raises(SecretUnreadable):
        decrypt_secret(dedicated, alice.id, row.secret_encrypted)


async def test_window_is_plus_minus_one_step(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    now = totp.time_step(clock.now())
    clock.advance(timedelta(seconds=60))  # two steps on; the code for now+1 is still fine
    await verify_totp(services, alice, totp.code_at(secret, now + 1))
    clock.advance(timedelta(seconds=60))
    await verify_totp(services, alice, totp.code_at(secret, totp.time_step(clock.now()) + 1))


@pytest.mark.parametrize("offset_steps", [2, 5, 10, -3, -10])
async def test_sign_in_never_reveals_clock_skew(
    services: Services, alice: User, clock: MovableClock, offset_steps: int
) -> None:
    """A guess that happens to match a step a few minutes away is just wrong at sign-in:
    its offset would tell the guesser a code that becomes valid soon (issue 10, item 4)."""
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    clock.advance(timedelta(minutes=30))
    code = totp.code_at(secret, totp.time_step(clock.now()) + offset_steps)
    with pytest.raises(FactorRejected) as caught:
        await verify_totp(services, alice, code)
    assert not isinstance(caught.value, ClockSkew)
    assert "clock" not in caught.value.message and "seconds" not in caught.value.message


@pytest.mark.parametrize("offset_steps", [2, 10, -3])
async def test_clock_skew_is_reported_while_setting_up(
    services: Services, alice: User, offset_steps: int
) -> None:
    """At enrolment the user has just scanned the secret: a code from the right secret a few
    steps off proves the device clock is wrong, and saying so helps."""
    secret = pyotp.random_base32()
    await start_totp(services, alice, secret=secret)
    code = totp.code_at(secret, totp.time_step(services.clock.now()) + offset_steps)
    with pytest.raises(ClockSkew) as caught:
        await confirm_totp(services, alice, code)
    assert caught.value.offset_seconds == offset_steps * 30
    assert "clock" in caught.value.message


async def test_far_off_code_is_just_wrong(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    clock.advance(timedelta(minutes=30))
    code = totp.code_at(secret, totp.time_step(clock.now()) + 11)
    with pytest.raises(FactorRejected) as caught:
        await verify_totp(services, alice, code)
    assert not isinstance(caught.value, ClockSkew)


async def test_same_code_twice_is_refused(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    clock.advance(timedelta(seconds=30))
    code = totp.code_at(secret, totp.time_step(clock.now()))
    await verify_totp(services, alice, code)
    with pytest.raises(CodeAlreadyUsed):
        await verify_totp(services, alice, code)
    clock.advance(timedelta(seconds=20))  # still inside the window, same step
    with pytest.raises(CodeAlreadyUsed):
        await verify_totp(services, alice, code)


@pytest.mark.parametrize(
    "disguise",
    [
        lambda c: f"  {c}  ",
        lambda c: f"{c[:3]} {c[3:]}",
        lambda c: f"{c}\n",
        lambda c: full_width(c),
        lambda c: "\u3000" + full_width(c),
    ],
)
async def test_used_code_in_disguise_is_refused(
    services: Services, alice: User, clock: MovableClock, disguise: Callable[[str], str]
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    clock.advance(timedelta(seconds=30))
    code = totp.code_at(secret, totp.time_step(clock.now()))
    await verify_totp(services, alice, code)
    with pytest.raises(CodeAlreadyUsed):
        await verify_totp(services, alice, disguise(code))


async def test_full_width_digits_are_accepted_once(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    clock.advance(timedelta(seconds=30))
    code = totp.code_at(secret, totp.time_step(clock.now()))
    wide = full_width(code)
    assert normalize_code("\uff11\uff12\uff13\uff14\uff15\uff16") == "123456"
    assert normalize_code(wide) == code
    await verify_totp(services, alice, wide)
    with pytest.raises(CodeAlreadyUsed):
        await verify_totp(services, alice, code)


async def test_older_code_after_newer_is_refused(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    clock.advance(timedelta(minutes=5))
    now = totp.time_step(clock.now())
    await verify_totp(services, alice, totp.code_at(secret, now + 1))
    with pytest.raises(CodeAlreadyUsed):
        await verify_totp(services, alice, totp.code_at(secret, now))
    with pytest.raises(CodeAlreadyUsed):
        await verify_totp(services, alice, totp.code_at(secret, now - 1))


async def test_confirmation_code_cannot_be_replayed(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    with pytest.raises(CodeAlreadyUsed):
        await verify_totp(services, alice, totp.code_at(secret, totp.time_step(clock.now())))


async def test_two_requests_at_once_exactly_one_wins(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    for _round in range(3):
        clock.advance(timedelta(seconds=30))
        code = totp.code_at(secret, totp.time_step(clock.now()))
        results = await asyncio.gather(
            verify_totp(services, alice, code),
            verify_totp(services, alice, f" {code} "),
            return_exceptions=True,
        )
        wins = [r for r in results if isinstance(r, int)]
        losses = [r for r in results if isinstance(r, CodeAlreadyUsed)]
        assert len(wins) == 1 and len(losses) == 1, results


@pytest.mark.parametrize(
    "bad", ["", "12345", "1234567", "abcdef", "12345a", "\u0661\u0662\u0663\u0664\u0665x"]
)
async def test_malformed_codes_are_refused(
    services: Services, alice: User, clock: MovableClock, bad: str
) -> None:
    await enrol(services, alice, clock, pyotp.random_base32())
    with pytest.raises(FactorRejected, match="6-digit"):
        await verify_totp(services, alice, bad)


async def test_disable(services: Services, alice: User, clock: MovableClock) -> None:
    ctx = RequestContext(ip_address="198.51.100.7")
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    async with services.db.transaction() as session:
        await totp.disable(session, alice, now=services.clock.now(), context=ctx)
    async with services.db.session() as session:
        summary = await factor_summary(session, alice.id)
    assert not summary.totp and summary.recovery_codes_left == 0
    with pytest.raises(BadRequest):
        await verify_totp(services, alice, totp.code_at(secret, totp.time_step(clock.now())))
    async with services.db.transaction() as session:
        with pytest.raises(NotFound):
            await totp.disable(session, alice, now=services.clock.now())
    assert "2fa:totp:removed" in await audit_tags(services, alice.id)
    # Re-enrolling at once works: old used steps went with the old secret.
    await enrol(services, alice, clock, pyotp.random_base32())


async def test_changed_key_is_a_clear_error_logged_for_operators(
    services: Services, alice: User, clock: MovableClock, caplog: pytest.LogCaptureFixture
) -> None:
    secret = pyotp.random_base32()
    await enrol(services, alice, clock, secret)
    clock.advance(timedelta(seconds=60))
    services.settings = services.settings.model_copy(
        update={"totp_encryption_key": "a-new-key-after-rotation"}
    )
    code = totp.code_at(secret, totp.time_step(clock.now()))
    with (
        caplog.at_level("ERROR", logger="bastion.accounts.twofactor.totp"),
        pytest.raises(AuthenticatorKeyChanged) as raised,
    ):
        await verify_totp(services, alice, code)
    assert raised.value.status_code == 503
    assert "server's encryption key was changed" in raised.value.message
    assert "security key or a recovery code" in raised.value.message
    assert "ask an administrator" in raised.value.message
    assert isinstance(raised.value, BastionError)
    assert any(
        r.levelname == "ERROR"
        and "alice" in r.getMessage()
        and "totp_encryption_key" in r.getMessage()
        for r in caplog.records
    ), caplog.text
    # Not a failed attempt: the user did nothing wrong, the lockout counter is untouched.
    assert "2fa:failure" not in await audit_tags(services, alice.id)


async def test_changed_key_during_setup_says_start_again(
    services: Services, alice: User, clock: MovableClock
) -> None:
    secret = pyotp.random_base32()
    await start_totp(services, alice, secret=secret)
    services.settings = services.settings.model_copy(update={"secret_key": "rotated-secret-key"})
    with pytest.raises(AuthenticatorKeyChanged, match="Start setting up the authenticator app"):
        await confirm_totp(services, alice, totp.code_at(secret, totp.time_step(clock.now())))
