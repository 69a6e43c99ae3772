"""Project pages when upstream indexes or origin rules are in play (the read-path glue).

What a name's page holds follows its switches (``upstream.rules``):
- upstream blocked: local files only; never a request upstream. A name reserved by a
  rule with no local files gets a 200 page with no files and a note, so uv stops there
  instead of falling through to another index (which it does on a 404);
- a name not hosted here and never pulled that reads like a local project, or lies in a
  restricted namespace (``protect.names.upstream``): refused before any upstream request,
  with a 200 page with no files and a note (like a reserved name), audited;
- upstream allowed, publish blocked or nothing local: the upstream's files;
- both allowed and local files exist: both, local files winning a filename clash,
  with PEP 708 ``tracks`` / ``alternate-locations``.
Upstream files are listed with Bastion's own /files/ URLs and the upstream's sha256,
minus the ones inside the cool-down.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import record
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import BastionError
from bastion.protect.names.upstream import upstream_refusal
from bastion.protect.names.verdict import NameReason
from bastion.simple.queries import FileRow, ProjectListing, ProjectRef, project_listing
from bastion.simple.render import NO_EXTRAS, PageExtras
from bastion.upstream.cooldown import cooldown_days, released
from bastion.upstream.documents import UpstreamDoc
from bastion.upstream.files import upstream_path
from bastion.upstream.proxy import UpstreamProxy
from bastion.upstream.rules import RuleBook, Switches, origin_of

RESERVED_MESSAGE = (
    "{name} is reserved for this index's own packages and has none yet; "
    "it is never looked up on an upstream index."
)
REFUSED_MESSAGE = (
    "{name} is not looked up on an upstream index here: {detail}, and a look-alike of a "
    "private name is how dependency confusion starts. Check the name you asked for; an "
    "administrator can allow it with: bastion origin set {name} --upstream allow"
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the page of one name is made from, decided inside one database session."""

    local: ProjectListing | None
    switches: Switches | None  # None: no upstream and no rule for it
    refusal: NameReason | None = None  # name protection refuses its first upstream pull


@dataclass(frozen=True, slots=True)
class Composed:
    listing: ProjectListing
    extras: PageExtras
    proxied: bool  # depends on more than the local serial (rules, upstream, clock)


def upstream_rows(
    doc: UpstreamDoc, *, settings: Settings, clock: Clock, switches: Switches
) -> list[FileRow]:
    days = cooldown_days(switches.cooldown_days, settings.upstream_cooldown_days)
    return [
        FileRow(
            version=d.version,
            filename=d.filename,
            path=upstream_path(doc.name, d.sha256, d.filename),
            sha256=d.sha256,
            size=d.size,
            upload_time=d.upload_time,
            requires_python=d.requires_python,
            yanked=d.yanked,
            yanked_reason=d.yanked_reason,
            metadata_sha256=d.metadata_sha256,
        )
        for d in released(doc.files, now=clock.now(), days=days)
    ]


def _listing(
    name: str, display: str, serial: int, files: list[FileRow], versions: set[str]
) -> ProjectListing:
    return ProjectListing(
        project=ProjectRef(0, display, name, serial), versions=sorted(versions), files=files
    )


async def first_pull_refusal(
    session: AsyncSession, settings: Settings, name: str, switches: Switches, *, local: bool
) -> NameReason | None:
    """Why a name not hosted here may not be pulled upstream for the first time (None: it
    may). Names already pulled keep their origin; an admin's exact-name rule with
    ``--upstream allow`` overrides the check."""
    if local or not switches.upstream or switches.origin != "new":
        return None
    rule = switches.rule
    if rule is not None and rule.pattern == name and rule.upstream is True:
        return None
    return await upstream_refusal(session, settings, name)


def refused_message(name: str, reason: NameReason) -> str:
    return REFUSED_MESSAGE.format(name=name, detail=reason.detail)


async def audit_refusal(
    db: Database, proxy: UpstreamProxy, clock: Clock, name: str, reason: NameReason
) -> None:
    """Record a refused first pull (at most once per name per ``upstream_ttl`` here)."""
    if not proxy.first_refusal_note(name):
        return
    async with db.transaction() as session:
        record(
            session,
            tag="protect:upstream-refused",
            when=clock.now(),
            project_name=name,
            rule=reason.rule,
            similar_to=reason.similar_to,
            detail=reason.detail,
        )


async def plan_for(
    session: AsyncSession,
    name: str,
    listing: ProjectListing | None,
    book: RuleBook,
    *,
    proxy: UpstreamProxy,
    settings: Settings,
) -> Plan:
    """What the page of ``name`` is made of: local rows, and its origin switches if any."""
    if not proxy.enabled and not book.match(name):
        return Plan(local=listing, switches=None)
    if book.may_look_upstream(name) is False or not proxy.enabled:
        return Plan(local=listing, switches=book.switches(name, "local" if listing else "new"))
    switches = book.switches(name, await origin_of(session, name))
    refusal = await first_pull_refusal(session, settings, name, switches, local=listing is not None)
    return Plan(local=listing, switches=switches, refusal=refusal)


async def proxied_listing(
    name: str, *, db: Database, proxy: UpstreamProxy, settings: Settings, clock: Clock
) -> Composed | None:
    """What ``/simple/<name>/`` lists, for readers other than the simple pages (the JSON
    API): local and upstream files as the origin rules say; refusals audited."""
    async with db.session() as session:
        book = await proxy.rules(session)
        plan = await plan_for(
            session,
            name,
            await project_listing(session, name),
            book,
            proxy=proxy,
            settings=settings,
        )
    if plan.refusal is not None:
        await audit_refusal(db, proxy, clock, name, plan.refusal)
    return await compose(name, plan, proxy=proxy, settings=settings, clock=clock)


async def compose(
    name: str, plan: Plan, *, proxy: UpstreamProxy, settings: Settings, clock: Clock
) -> Composed | None:
    """The listing to render for ``name``, or None (404); raises 502/504 from upstream."""
    local, switches = plan.local, plan.switches
    if plan.refusal is not None:
        return Composed(
            _listing(name, name, 0, [], set()),
            PageExtras(message=refused_message(name, plan.refusal)),
            proxied=True,
        )
    if switches is None or not switches.upstream:
        if local is not None:
            return Composed(local, NO_EXTRAS, proxied=False)  # local rows + rules only
        if switches is not None and switches.reserved:
            return Composed(
                _listing(name, name, 0, [], set()),
                PageExtras(message=RESERVED_MESSAGE.format(name=name)),
                proxied=True,
            )
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
            _listing(
                name,
                local.project.name,
                max(local.project.last_serial, doc.serial),
                files,
                versions,
            ),
            PageExtras(tracks=(doc.page_url,), alternate_locations=(here, doc.page_url)),
            proxied=True,
        )
    return Composed(
        _listing(name, name, doc.serial, rows, {row.version for row in rows}),
        PageExtras(tracks=(doc.page_url,)),
        proxied=True,
    )
