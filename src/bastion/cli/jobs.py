"""``bastion jobs list|run``: the periodic jobs, for an external scheduler (cron, systemd).

Each job runs at most once per UTC day across every process (embedded schedulers and
other ``bastion jobs run`` included), so a cron line on several hosts is safe.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bastion.cli.runner import err, run_with_services
from bastion.services import Services

jobs_app = typer.Typer(help="Periodic jobs: list them, run them.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list() -> None:
    """Every job, in the order they run, with its last run."""
    from bastion.jobs import JOBS
    from bastion.scheduling.once import last_runs

    runs = run_with_services(last_runs)
    for job in JOBS:
        run = runs.get(job.name)
        if run is None:
            last = "never ran"
        elif run.succeeded is None:
            last = f"{run.period}: started {run.started_at:%Y-%m-%d %H:%M} UTC, unfinished"
        else:
            outcome = "ok" if run.succeeded else "FAILED"
            last = f"{run.period}: {outcome} at {run.finished_at:%Y-%m-%d %H:%M} UTC"
            if run.detail:
                last += f" ({run.detail})"
        typer.echo(f"{job.name:20} {job.summary}\n{'':20} last: {last}")


@jobs_app.command("run")
def jobs_run(
    name: Annotated[
        str | None, typer.Argument(help="One job (see `bastion jobs list`); all when left out.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run even if it already succeeded today.")
    ] = False,
) -> None:
    """Run the jobs (or one) that have not succeeded today; exit 1 if one fails."""
    from bastion.jobs import JOBS, find
    from bastion.scheduling.daily import run_all

    if name is None:
        jobs = list(JOBS)
    else:
        try:
            jobs = [find(name)]
        except KeyError:
            err.print(
                f"[red]error:[/red] there is no job named {name!r}; "
                f"the jobs are: {', '.join(j.name for j in JOBS)}"
            )
            raise typer.Exit(2) from None

    async def work(services: Services) -> bool:
        outcomes = await run_all(services, jobs, force=force)
        for outcome in outcomes:
            typer.echo(outcome.describe())
        return all(o.ok for o in outcomes)

    if not run_with_services(work):
        raise typer.Exit(1)
