"""``bastion review``: the protection review queue for operators (bastion.protect.review).

    bastion review list [--json]
    bastion review show NAME [--json]
    bastion review approve NAME [--allow-pair] [--reason TEXT]
    bastion review reject NAME --reason TEXT
    bastion review clear NAME [VERSION] [--reason TEXT]
    bastion review quarantine NAME [VERSION] --reason TEXT
    bastion review remove NAME --reason TEXT [--forbid]
    bastion review trust USER | distrust USER | reserved

Every decision acts as the operator (``operator:cli``), is audited and mailed to the
project's maintainers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts import notices
from bastion.cli.runner import OPERATOR, change, run_with_services
from bastion.protect.review import DecisionResult
from bastion.services import Services

review_app = typer.Typer(
    help="Review held names, scan findings, malware reports and quarantines.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object a line.")]
OptionalReason = Annotated[str, typer.Option("--reason", help="Why (audited; mailed).")]
RequiredReason = Annotated[str, typer.Option("--reason", help="Why (audited; mailed).")]
Version = Annotated[str | None, typer.Argument(help="Only this release.")]


Decide = Callable[[AsyncSession, Services], Awaitable[DecisionResult]]


def _decide(decide: Decide) -> None:
    """Run one decision in a transaction, mail the maintainers, print what it did."""

    async def work(services: Services) -> None:
        async with services.db.transaction() as session:
            result = await decide(session, services)
        await notices.send_after(services.mailer, result.notices)
        what = result.project + (f" {result.version}" if result.version else "")
        typer.echo(f"{result.decision} {what}: " + "; ".join(result.changed))

    run_with_services(work)


@review_app.command("list")
def review_list(as_json: JsonFlag = False) -> None:
    """Projects awaiting a decision, most urgent first."""
    from bastion.protect.review import review_queue

    async def work(services: Services) -> None:
        async with services.db.session() as session:
            items = await review_queue(
                session, trusted_weight=services.settings.report_trusted_weight
            )
        for item in items:
            if as_json:
                typer.echo(json.dumps(item.to_json(), sort_keys=True))
                continue
            why = []
            if item.held_name:
                why.append("held name")
            why += [f"{n} {verdict}" for verdict, n in sorted(item.scans.items())]
            if item.reports:
                why.append(f"{item.reports} report(s), {item.trusted_reports} trusted")
            typer.echo(f"{item.project}\t{item.status}\t{', '.join(why) or item.status_reason}")
        if not items and not as_json:
            typer.echo("nothing to review")

    run_with_services(work)


@review_app.command("show")
def review_show(name: str, as_json: JsonFlag = False) -> None:
    """Everything about one project: name review, findings with excerpts, version diffs,
    reports, releases and files with their status."""
    from bastion.protect.review import review_detail

    async def work(services: Services) -> None:
        async with services.db.session() as session:
            detail = (await review_detail(session, name)).to_json()
        if as_json:
            typer.echo(json.dumps(detail, sort_keys=True))
            return
        typer.echo(
            f"{detail['name']}: {detail['status']}"
            + (f" ({detail['status_reason']})" if detail["status_reason"] else "")
        )
        for review in detail["name_reviews"]:
            typer.echo(f"name review [{review['state']}]:")
            for reason in review["reasons"]:
                typer.echo(
                    f"  {reason.get('rule')}: {reason.get('detail')}"
                    f" (similar to {reason.get('similar_to')})"
                )
        for scan in detail["scans"]:
            typer.echo(f"scan {scan['filename']}: {scan['verdict']} [{scan['review_state']}]")
            for f in scan["findings"]:
                typer.echo(f"  {f['severity']} {f['rule']} {f['path']}:{f['line']}  {f['excerpt']}")
            diff = scan["diff"]
            if diff["previous"] or diff["new_capabilities"]:
                typer.echo(
                    f"  diff to {diff['previous'] or 'nothing'}: new "
                    f"{', '.join(diff['new_capabilities']) or 'nothing'}"
                )
        for report in detail["reports"]:
            typer.echo(
                f"report by {report['reporter']}{' (trusted)' if report['trusted'] else ''}"
                f" [{report['state']}]: {report['reason']}"
            )
        for release in detail["releases"]:
            files = ", ".join(f"{f['filename']} ({f['status']})" for f in release["files"])
            typer.echo(f"release {release['version']} ({release['status']}): {files}")

    run_with_services(work)


@review_app.command("approve")
def review_approve(
    name: str,
    allow_pair: Annotated[
        bool,
        typer.Option(
            "--allow-pair", help="Also allow-list the name beside each look-alike it was held for."
        ),
    ] = False,
    reason: OptionalReason = "",
) -> None:
    """Approve a held name: the project is served."""
    from bastion.protect.review import approve_name

    _decide(
        lambda db, s: approve_name(
            db,
            name,
            by=OPERATOR,
            settings=s.settings,
            clock=s.clock,
            protection=s.protect,
            reason=reason,
            allow_pairs=allow_pair,
        )
    )


@review_app.command("reject")
def review_reject(name: str, reason: RequiredReason) -> None:
    """Reject a held name: the project is deleted and the name reserved."""
    from bastion.protect.review import reject_name

    _decide(
        lambda db, s: reject_name(
            db, name, by=OPERATOR, settings=s.settings, clock=s.clock, reason=reason
        )
    )


@review_app.command("clear")
def review_clear(name: str, version: Version = None, reason: OptionalReason = "") -> None:
    """Not malware: serve the project (or release) again and close its findings and reports."""
    from bastion.protect.review import clear

    _decide(
        lambda db, s: clear(
            db, name, version, by=OPERATOR, settings=s.settings, clock=s.clock, reason=reason
        )
    )


@review_app.command("quarantine")
def review_quarantine(name: str, reason: RequiredReason, version: Version = None) -> None:
    """Quarantine the project (uploads frozen) or one release."""
    from bastion.protect.review import quarantine

    _decide(
        lambda db, s: quarantine(
            db, name, version, by=OPERATOR, settings=s.settings, clock=s.clock, reason=reason
        )
    )


@review_app.command("remove")
def review_remove(
    name: str,
    reason: RequiredReason,
    forbid: Annotated[
        bool, typer.Option("--forbid", help="Nobody may use the name again.")
    ] = False,
) -> None:
    """Delete the project (restorable during retention); --forbid reserves its name."""
    from bastion.protect.review import remove_project

    _decide(
        lambda db, s: remove_project(
            db,
            name,
            by=OPERATOR,
            settings=s.settings,
            clock=s.clock,
            reason=reason,
            forbid=forbid,
        )
    )


def _trust(username: str, trusted: bool) -> None:
    from bastion.protect.reports import set_trusted_reporter

    said = {
        (True, True): "is now a trusted reporter",
        (True, False): "is already a trusted reporter",
        (False, True): "is no longer a trusted reporter",
        (False, False): "was not a trusted reporter",
    }
    changed = change(set_trusted_reporter, username, trusted)
    typer.echo(f"{username} {said[(trusted, changed)]}")


@review_app.command("trust")
def review_trust(username: str) -> None:
    """Grant USER the trusted-reporter role: their malware reports weigh more."""
    _trust(username, True)


@review_app.command("distrust")
def review_distrust(username: str) -> None:
    """Take the trusted-reporter role away from USER."""
    _trust(username, False)


@review_app.command("reserved")
def review_reserved() -> None:
    """Names nobody may create (rejected or forbidden), with why."""
    from bastion.protect.quarantine import reserved_names

    async def work(services: Services) -> None:
        async with services.db.session() as session:
            for row in await reserved_names(session):
                typer.echo(f"{row.normalized_name}\t{row.created_by}\t{row.reason}")

    run_with_services(work)
