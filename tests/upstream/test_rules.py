"""Origin rules: patterns, precedence, defaults by origin, the upload hook, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.errors import BadRequest, Forbidden, NotFound
from bastion.services import Services
from bastion.upstream.models import UpstreamProject
from bastion.upstream.rules import (
    Rule,
    RuleBook,
    check_local_upload,
    clear_rule,
    normalise_pattern,
    origin_of,
    set_rule,
)


def test_patterns_are_normalised_like_names() -> None:
    assert normalise_pattern("Acme_Internal.*") == "acme-internal-*"
    assert normalise_pattern("  Foo.Bar ") == "foo-bar"
    for bad in ("", "acme/x", "-", "***", "a b"):
        with pytest.raises(BadRequest):
            normalise_pattern(bad)


def test_exact_name_beats_patterns_and_longer_patterns_beat_shorter() -> None:
    book = RuleBook(
        [
            Rule("acme-*", publish=True, upstream=False, cooldown_days=None),
            Rule("acme-public-*", publish=None, upstream=True, cooldown_days=None),
            Rule("acme-public-cli", publish=False, upstream=None, cooldown_days=7),
        ]
    )
    assert book.match("acme-secret").pattern == "acme-*"  # type: ignore[union-attr]
    assert book.match("acme-public-x").pattern == "acme-public-*"  # type: ignore[union-attr]
    assert book.match("acme-public-cli").pattern == "acme-public-cli"  # type: ignore[union-attr]
    assert book.match("other") is None
    assert book.may_look_upstream("acme-secret") is False
    assert book.may_look_upstream("other") is None


def test_defaults_follow_how_the_name_arrived_and_rules_override_one_switch() -> None:
    book = RuleBook([Rule("pulled", publish=True, upstream=None, cooldown_days=None)])
    local = book.switches("mine", "local")
    assert (local.publish, local.upstream) == (True, False)
    upstream = book.switches("theirs", "upstream")
    assert (upstream.publish, upstream.upstream) == (False, True)
    new = book.switches("fresh", "new")
    assert (new.publish, new.upstream, new.reserved) == (True, True, False)
    mixed = book.switches("pulled", "upstream")
    assert (mixed.publish, mixed.upstream) == (True, True)


async def test_rules_are_stored_audited_and_cleared(services: Services) -> None:
    async with services.db.transaction() as session:
        rule = await set_rule(
            session, services.clock, "Acme_*", publish=None, upstream=False, actor="cli"
        )
    assert rule.pattern == "acme-*"
    async with services.db.transaction() as session:
        with pytest.raises(BadRequest):
            await set_rule(session, services.clock, "x", publish=None, upstream=None, actor="cli")
        with pytest.raises(BadRequest):
            await set_rule(
                session,
                services.clock,
                "x",
                publish=None,
                upstream=None,
                cooldown_days=-1,
                actor="cli",
            )
    async with services.db.transaction() as session:
        await clear_rule(session, services.clock, "acme-*", actor="cli")
        with pytest.raises(NotFound):
            await clear_rule(session, services.clock, "acme-*", actor="cli")
    async with services.db.session() as session:
        tags = (await session.scalars(select(AuditEvent.tag).order_by(AuditEvent.id))).all()
    assert tags == ["origin:set", "origin:clear"]


async def test_upload_hook_refuses_names_pulled_from_upstream(services: Services) -> None:
    now = services.clock.now()
    async with services.db.transaction() as session:
        session.add(
            UpstreamProject(
                normalized_name="requests",
                index_url="http://u/simple/",
                first_fetched=now,
                fetched=now,
                document={},
            )
        )
    async with services.db.session() as session:
        assert await origin_of(session, "requests") == "upstream"
        assert await origin_of(session, "brand-new") == "new"
        await check_local_upload(session, "Brand_New")  # nothing against it
        with pytest.raises(Forbidden, match="first pulled from an upstream index"):
            await check_local_upload(session, "Requests")
    async with services.db.transaction() as session:
        await set_rule(session, services.clock, "acme-*", publish=False, upstream=None, actor="cli")
        await set_rule(
            session, services.clock, "requests", publish=True, upstream=None, actor="cli"
        )
    async with services.db.session() as session:
        await check_local_upload(session, "requests")
        with pytest.raises(Forbidden, match="origin rule 'acme-\\*' blocks local uploads"):
            await check_local_upload(session, "acme-tool")
