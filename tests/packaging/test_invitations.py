"""Collaborator invitations: owners invite (under the mandate), the invitee alone accepts
or declines, invitations expire, revoke, and every step is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.audit.queries import project_history
from bastion.clock import MovableClock
from bastion.errors import Conflict, Forbidden, Gone, NotFound
from bastion.packaging import invitations
from bastion.packaging.changes import Operator
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.index import Index, as_user
from tests.support.types import MakeUser


async def test_invite_accept_and_the_checks_on_the_way(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    carol = await make_user("carol")
    mallory = await make_user("mallory")
    await index.publish("demo", "1.0", sdist=False)
    async with services.db.transaction() as session:
        invitation, warnings = await invitations.invite(
            session, services, "Demo", "Carol", "maintainer", by=as_user(alice)
        )
    assert (invitation.project, invitation.username, invitation.role, warnings) == (
        "demo",
        "carol",
        Role.MAINTAINER,
        [],
    )
    assert invitation.expires - invitation.created == timedelta(days=7)
    with pytest.raises(Forbidden):  # only owners invite
        async with services.db.transaction() as session:
            await invitations.invite(
                session, services, "demo", "mallory", "Owner", by=as_user(carol)
            )
    with pytest.raises(Conflict):  # alice already has a role
        async with services.db.transaction() as session:
            await invitations.invite(session, services, "demo", "alice", "Owner", by=as_user(alice))
    with pytest.raises(NotFound):
        async with services.db.transaction() as session:
            await invitations.invite(
                session, services, "demo", "nobody", "Owner", by=as_user(alice)
            )
    with pytest.raises(Forbidden):  # someone else's invitation
        async with services.db.transaction() as session:
            await invitations.accept(session, services, invitation.id, user=mallory)
    async with services.db.transaction() as session:
        await invitations.accept(session, services, invitation.id, user=carol)
    with pytest.raises(NotFound):  # accepted: gone
        async with services.db.transaction() as session:
            await invitations.accept(session, services, invitation.id, user=carol)
    async with services.db.session() as session:
        history = await project_history(session, "demo", page=1, per_page=50)
    tags = [e.tag for e in history.events]
    assert tags[:3] == [
        "project:role:add",
        "project:invitation:accept",
        "project:invitation:create",
    ]


async def test_expiry_revoke_and_operator_invitations(
    index: Index, services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    await make_user("alice")
    carol = await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    async with services.db.transaction() as session:
        invitation, _ = await invitations.invite(
            session, services, "demo", "carol", "Owner", by=Operator()
        )
    assert invitation.invited_by == "operator:cli"
    clock.advance(timedelta(days=services.settings.role_invitation_days))
    async with services.db.session() as session:
        assert await invitations.user_invitations(session, carol.id, clock.now()) == []
    with pytest.raises(Gone):
        async with services.db.transaction() as session:
            await invitations.accept(session, services, invitation.id, user=carol)
    async with services.db.transaction() as session:  # an expired one is replaced
        renewed, _ = await invitations.invite(
            session, services, "demo", "carol", "Owner", by=Operator()
        )
    async with services.db.transaction() as session:
        await invitations.revoke(session, services, "demo", "carol", by=Operator())
    with pytest.raises(NotFound):
        async with services.db.transaction() as session:
            await invitations.decline(session, services, renewed.id, user=carol)
