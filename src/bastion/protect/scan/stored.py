"""The distributions the index holds, for rescanning them (``bastion scan --store``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.packaging.models import File


@dataclass(frozen=True)
class StoredFile:
    filename: str
    path: str  # in the FileStore


async def stored_files(session: AsyncSession) -> list[StoredFile]:
    """Every file not deleted, oldest first."""
    rows = await session.execute(
        select(File.filename, File.path).where(File.deleted_at.is_(None)).order_by(File.id)
    )
    return [StoredFile(filename, path) for filename, path in rows]
