"""``bastion origin ...``: per-name origin controls (stable contract: operators script it).

``set NAME-OR-PATTERN --publish allow|block --upstream allow|block`` adds or replaces a
rule (a switch left out follows how the name first arrived), ``list`` prints every rule
one a line as ``PATTERN publish=... upstream=... cooldown=...``, ``clear`` removes one.
A rule for a name that does not exist yet reserves it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from bastion.audit.events import RequestContext
from bastion.cli.runner import run_with_services
from bastion.services import Services

origin_app = typer.Typer(
    help="Origin controls: which names take local uploads and which come from upstream.",
    no_args_is_help=True,
)
CLI_CONTEXT = RequestContext(user_agent="bastion-cli")


class Switch(StrEnum):
    allow = "allow"
    block = "block"


def _flag(value: Switch | None) -> bool | None:
    return None if value is None else value is Switch.allow


def _word(value: bool | None) -> str:
    return "default" if value is None else ("allow" if value else "block")


@origin_app.command("set")
def origin_set(
    pattern: Annotated[
        str,
        typer.Argument(
            metavar="NAME-OR-PATTERN", help="A project name or a pattern like 'acme-*'."
        ),
    ],
    publish: Annotated[
        Switch | None, typer.Option(help="Local uploads of the name: allow or block.")
    ] = None,
    upstream: Annotated[
        Switch | None,
        typer.Option(
            help="Upstream versions of the name: allow or block (block: never looked up)."
        ),
    ] = None,
    cooldown_days: Annotated[
        int | None,
        typer.Option(
            help="Hold upstream files back this many days after upload (overrides the setting).",
        ),
    ] = None,
) -> None:
    """Add or replace the origin rule for a name or pattern."""
    from bastion.upstream.rules import set_rule

    async def work(services: Services) -> str:
        async with services.db.transaction() as session:
            rule = await set_rule(
                session,
                services.clock,
                pattern,
                publish=_flag(publish),
                upstream=_flag(upstream),
                cooldown_days=cooldown_days,
                actor="cli",
                context=CLI_CONTEXT,
            )
        return f"{rule.pattern}: publish={_word(rule.publish)} upstream={_word(rule.upstream)}"

    typer.echo(run_with_services(work))


@origin_app.command("list")
def origin_list() -> None:
    """Every origin rule, one a line."""
    from bastion.upstream.rules import list_rules

    async def work(services: Services) -> list[str]:
        async with services.db.session() as session:
            rules = await list_rules(session)
        return [
            f"{r.pattern} publish={_word(r.publish)} upstream={_word(r.upstream)} "
            f"cooldown={'default' if r.cooldown_days is None else r.cooldown_days}"
            for r in rules
        ]

    for line in run_with_services(work):
        typer.echo(line)


@origin_app.command("clear")
def origin_clear(
    pattern: Annotated[str, typer.Argument(metavar="NAME-OR-PATTERN")],
) -> None:
    """Remove the rule for a name or pattern (it falls back to its defaults)."""
    from bastion.upstream.rules import clear_rule, normalise_pattern

    async def work(services: Services) -> str:
        async with services.db.transaction() as session:
            await clear_rule(session, services.clock, pattern, actor="cli", context=CLI_CONTEXT)
        return f"cleared {normalise_pattern(pattern)}"

    typer.echo(run_with_services(work))
