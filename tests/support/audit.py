"""What the audit log and the embedded mailbox hold, for tests to compare."""

from __future__ import annotations

import mailbox
from typing import cast

from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.services import Services


async def audit_tags(
    services: Services, user_id: int | None = None, *, prefix: str = ""
) -> list[str]:
    """The tags of the audit events, oldest first (of one user, starting with ``prefix``)."""
    async with services.db.session() as session:
        query = select(AuditEvent.tag).order_by(AuditEvent.id)
        if user_id is not None:
            query = query.where(AuditEvent.user_id == user_id)
        if prefix:
            query = query.where(AuditEvent.tag.startswith(prefix))
        return list(await session.scalars(query))


def mail_to(services: Services, address: str) -> list[tuple[str, str]]:
    """(subject, body) of every message to ``address`` in the embedded mailbox."""
    path = services.mailer.mbox_path
    if not path.exists():
        return []
    return [
        (str(m["Subject"]), cast(bytes, m.get_payload(decode=True)).decode())
        for m in mailbox.mbox(path)
        if m["To"] == address
    ]
