"""Project pages when upstream indexes or origin rules are in play (the read-path glue).

What a name's page holds follows its switches (``upstream.rules``):
- upstream blocked: local files only; never a request upstream. A name reserved by a
  rule with no local files gets a 200 page with no files and a note, so uv stops there
  instead of falling through to another index (which it does on a 404);
- upstream allowed, publish blocked or nothing local: the upstream's files;
- both allowed and local files exist: both, local files winning a filename clash,
  with PEP 708 ``tracks`` / ``alternate-locations``.
Upstream files are listed with Bastion's own /files/ URLs and the upstream's sha256,
minus the ones inside the cool-down.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import BastionError
from bastion.simple.queries import FileRow, ProjectListing, ProjectRef
from bastion.simple.render import NO_EXTRAS, PageExtras
from bastion.upstream.cooldown import cooldown_days, released
from bastion.upstream.documents import UpstreamDoc
from bastion.upstream.files import upstream_path
from bastion.upstream.proxy import UpstreamProxy
from bastion.upstream.rules import Switches

RESERVED_MESSAGE = (
    "{name} is reserved for this index's own packages and has none yet; "
    "it is never looked up on an upstream index."
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the page of one name is made from, decided inside one database session."""

    local: ProjectListing | None
    switches: Switches | None  # None: no upstream and no rule for it


@dataclass(frozen=True, slots=True)
class Composed:
    listing: ProjectListing
    extras: PageExtras
    proxied: bool  # depends on more than the local serial (rules, upstream, clock)


def upstream_rows(doc: UpstreamDoc, *, settings: Settings, clock: Clock,
                  switches: Switches) -> list[FileRow]:
    days = cooldown_days(switches.cooldown_days, settings.upstream_cooldown_days)
    return [
        FileRow(
            version=d.version, filename=d.filename,
            path=upstream_path(doc.name, d.sha256, d.filename), sha256=d.sha256,
            size=d.size, upload_time=d.upload_time, requires_python=d.requires_python,
            yanked=d.yanked, yanked_reason=d.yanked_reason, metadata_sha256=d.metadata_sha256,
        )
        for d in released(doc.files, now=clock.now(), days=days)
    ]


def _listing(name: str, display: str, serial: int, files: list[FileRow],
             versions: set[str]) -> ProjectListing:
    return ProjectListing(project=ProjectRef(0, display, name, serial),
                          versions=sorted(versions), files=files)


async def compose(
    name: str, plan: Plan, *, proxy: UpstreamProxy, settings: Settings, clock: Clock
) -> Composed | None:
    """The listing to render for ``name``, or None (404); raises 502/504 from upstream."""
    local, switches = plan.local, plan.switches
    if switches is None or not switches.upstream:
        if local is not None:
            return Composed(local, NO_EXTRAS, proxied=False)  # local rows + rules only
        if switches is not None and switches.reserved:
            return Composed(_listing(name, name, 0, [], set()),
                            PageExtras(message=RESERVED_MESSAGE.format(name=name)),
                            proxied=True)
        return None
    merge = local is not None and switches.publish
    try:
        doc = await proxy.doc(name)
    except BastionError:
        if merge and local is not None:
            return Composed(local, NO_EXTRAS, proxied=True)  # the upstream is down
        raise
    if doc is None:
        return Composed(local, NO_EXTRAS, proxied=True) if local is not None else None
    rows = upstream_rows(doc, settings=settings, clock=clock, switches=switches)
    if merge and local is not None:
        taken = {row.filename for row in local.files}
        files = local.files + [row for row in rows if row.filename not in taken]
        versions = set(local.versions) | {row.version for row in rows}
        here = f"{settings.base_url.rstrip('/')}/simple/{name}/"
        return Composed(
            _listing(name, local.project.name, max(local.project.last_serial, doc.serial),
                     files, versions),
            PageExtras(tracks=(doc.page_url,), alternate_locations=(here, doc.page_url)),
            proxied=True,
        )
    return Composed(
        _listing(name, name, doc.serial, rows, {row.version for row in rows}),
        PageExtras(tracks=(doc.page_url,)), proxied=True,
    )
