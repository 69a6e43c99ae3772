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
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser


async def test_invite_accept_and_the_checks_on_the_way(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    carol = await make_user("carol")
    mallory = await make_user("mallory")
    await index.publish("demo", "1.0", sdist=False)
    invited = await in_transaction(
        services, invitations.invite, "Demo", "Carol", "maintainer", by=as_user(alice)
    )
    invitation, warnings = invited.invitation, invited.warnings
    assert (invitation.project, invitation.username, invitation.role, warnings) == (
        "demo",
        "carol",
        Role.MAINTAINER,
        [],
    )
    assert invitation.expires - invitation.created == timedelta(days=7)
    with pytest.raises(Forbidden):  # only owners invite
        await in_transaction(
            services, invitations.invite, "demo", "mallory", "Owner", by=as_user(carol)
        )
    with pytest.raises(Conflict):  # alice already has a role
        await in_transaction(
            services, invitations.invite, "demo", "alice", "Owner", by=as_user(alice)
        )
    with pytest.raises(NotFound):
        await in_transaction(
            services, invitations.invite, "demo", "nobody", "Owner", by=as_user(alice)
        )
    with pytest.raises(Forbidden):  # someone else's invitation
        await in_transaction(services, invitations.accept, invitation.id, user=mallory)
    await in_transaction(services, invitations.accept, invitation.id, user=carol)
    with pytest.raises(NotFound):  # accepted: gone
        await in_transaction(services, invitations.accept, invitation.id, user=carol)
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
    invited = await in_transaction(
        services, invitations.invite, "demo", "carol", "Owner", by=Operator()
    )
    invitation = invited.invitation
    assert invitation.invited_by == "operator:cli"
    clock.advance(timedelta(days=services.settings.role_invitation_days))
    async with services.db.session() as session:
        assert await invitations.user_invitations(session, carol.id, clock.now()) == []
    with pytest.raises(Gone):
        await in_transaction(services, invitations.accept, invitation.id, user=carol)
    renewed = await in_transaction(  # an expired one is replaced
        services, invitations.invite, "demo", "carol", "Owner", by=Operator()
    )
    await in_transaction(services, invitations.revoke, "demo", "carol", by=Operator())
    with pytest.raises(NotFound):
        await in_transaction(services, invitations.decline, renewed.invitation.id, user=carol)
