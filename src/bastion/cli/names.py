"""``bastion names ...``: judge names, the popular list, prohibited names, namespaces."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.cli.runner import BY, change, run_with_services
from bastion.services import Services

names_app = typer.Typer(
    help="Name protection: typosquats, prohibited names, namespaces.", no_args_is_help=True
)
T = TypeVar("T")


def listing(query: Callable[[AsyncSession], Awaitable[list[T]]]) -> list[T]:
    """The rows one names-admin listing returns."""

    async def work(services: Services) -> list[T]:
        async with services.db.session() as session:
            return await query(session)

    return run_with_services(work)


@names_app.command("check")
def names_check(
    names: Annotated[list[str], typer.Argument(help="Names to judge; '-' reads stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """Judge each name as if a user who owns nothing created it now (nothing is recorded)."""
    from bastion.protect.names.judge import assess
    from bastion.protect.names.verdict import NameVerdict

    wanted: list[str] = []
    for name in names:
        if name == "-":
            wanted.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            wanted.append(name)

    async def work(services: Services) -> list[NameVerdict]:
        async with services.db.session() as session:
            return [await assess(session, services.settings, name, user_id=None) for name in wanted]

    for verdict in run_with_services(work):
        reasons = [
            {"rule": r.rule, "similar_to": r.similar_to, "detail": r.detail}
            for r in verdict.reasons
        ]
        if as_json:
            typer.echo(
                json.dumps({"name": verdict.name, "verdict": verdict.verdict, "reasons": reasons})
            )
        else:
            why = "; ".join(f"{r['rule']}: {r['similar_to']} ({r['detail']})" for r in reasons)
            typer.echo(f"{verdict.name}\t{verdict.verdict}" + (f"\t{why}" if why else ""))


@names_app.command("update-popular")
def names_update_popular(
    file: Annotated[Path, typer.Argument(help="'RANK<TAB>NAME' a line (a header is fine).")],
) -> None:
    """Replace the popular-name list for every process of this index."""
    from bastion.protect.names.popular import parse_ranked, replace_popular

    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}") from None

    async def work(services: Services) -> tuple[int, int]:
        from bastion.audit.events import record

        ranked = parse_ranked(text)
        now = services.clock.now()
        async with services.db.transaction() as session:
            revision = await replace_popular(session, ranked, source=file.name, now=now)
            record(
                session,
                tag="names:update-popular",
                when=now,
                by=BY,
                count=len(ranked),
                source=file.name,
            )
        return len(ranked), revision

    count, revision = run_with_services(work)
    typer.echo(f"{count} popular names loaded (revision {revision})")


@names_app.command("prohibit")
def names_prohibit(
    name: Annotated[str, typer.Argument(help="The project name nobody may register.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")] = "",
) -> None:
    """Add a name to the prohibited list."""
    from bastion.protect.names.admin import prohibit

    typer.echo(f"{change(prohibit, name, reason=reason)} is prohibited")


@names_app.command("unprohibit")
def names_unprohibit(name: Annotated[str, typer.Argument(help="The project name.")]) -> None:
    """Take a name off the prohibited list."""
    from bastion.protect.names.admin import unprohibit

    typer.echo(f"{change(unprohibit, name)} is no longer prohibited")


@names_app.command("prohibited")
def names_prohibited() -> None:
    """List prohibited names, one a line."""
    from bastion.protect.names.admin import list_prohibited

    for row in listing(list_prohibited):
        typer.echo(row.normalized_name)


@names_app.command("grant")
def names_grant(
    prefix: Annotated[str, typer.Argument(help="The namespace, e.g. 'acme' (covers acme-*).")],
    user: Annotated[str, typer.Argument(help="The user who holds it.")],
    open_: Annotated[
        bool, typer.Option("--open", help="Others may create names in it too (marked unofficial).")
    ] = False,
) -> None:
    """Reserve a namespace (PEP 752) for a user: restricted unless --open."""
    from bastion.protect.names.admin import grant_namespace

    grant = change(grant_namespace, prefix, user, open=open_)
    kind = "open" if grant.open else "restricted"
    typer.echo(f"{grant.prefix} ({kind}) is granted to {grant.username}")


@names_app.command("revoke")
def names_revoke(prefix: Annotated[str, typer.Argument(help="The namespace.")]) -> None:
    """Remove a namespace grant."""
    from bastion.protect.names.admin import revoke_namespace

    typer.echo(f"{change(revoke_namespace, prefix)} is no longer granted")


@names_app.command("grants")
def names_grants() -> None:
    """List namespace grants: prefix, user, open|restricted."""
    from bastion.protect.names.admin import list_grants

    for grant in listing(list_grants):
        typer.echo(f"{grant.prefix}\t{grant.username}\t{'open' if grant.open else 'restricted'}")


@names_app.command("protect-word")
def names_protect_word(word: Annotated[str, typer.Argument(help="A brand, one word.")]) -> None:
    """Hold for review new names that contain WORD as a word (unless the user holds it)."""
    from bastion.protect.names.admin import protect_word

    typer.echo(f"{change(protect_word, word)} is protected")


@names_app.command("allow-pair")
def names_allow_pair(
    name: Annotated[str, typer.Argument(help="The new name.")],
    similar_to: Annotated[str, typer.Argument(help="The name it looks like.")],
) -> None:
    """Never flag NAME for looking like SIMILAR_TO again."""
    from bastion.protect.names.admin import add_allowed_pair

    a, b = change(add_allowed_pair, name, similar_to)
    typer.echo(f"{a} may look like {b}")
