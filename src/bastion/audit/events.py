"""Record audit events. Callers add the event inside their own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.models import AuditEvent


@dataclass(frozen=True)
class RequestContext:
    """Who did it from where: the parts of a request an audit event keeps."""

    ip_address: str | None = None
    user_agent: str | None = None


def record(
    session: AsyncSession,
    *,
    tag: str,
    when: datetime,
    context: RequestContext | None = None,
    user_id: int | None = None,
    project_name: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add one audit event to the session (committed with the caller's transaction)."""
    ctx = context or RequestContext()
    event = AuditEvent(
        time=when,
        tag=tag,
        user_id=user_id,
        project_name=project_name,
        ip_address=ctx.ip_address,
        user_agent=(ctx.user_agent or "")[:512] or None,
        details=details,
    )
    session.add(event)
    return event
