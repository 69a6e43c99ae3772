"""``bastion metrics snapshot``: store today's 2FA figures (cron, in scale-out mode).

The embedded mode's daily job does the same in-process; running both, or running
this twice a day, leaves one snapshot per day holding the later figures.
"""

from __future__ import annotations

import typer

from bastion.cli.runner import run_with_services
from bastion.metrics.snapshots import Snapshot
from bastion.services import Services

metrics_app = typer.Typer(help="Public 2FA metrics.", no_args_is_help=True)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@metrics_app.command("snapshot")
def metrics_snapshot() -> None:
    """Store today's (UTC) snapshot of the 2FA figures, replacing one taken earlier today."""
    from bastion.metrics.snapshots import take_snapshot

    async def work(services: Services) -> Snapshot:
        async with services.db.transaction() as session:
            return await take_snapshot(session, services.clock)

    snapshot = run_with_services(work)
    figures = snapshot.figures
    typer.echo(
        f"2FA snapshot for {snapshot.day.isoformat()}: "
        f"{figures.users_with_2fa} of {figures.users} users have 2FA "
        f"({_pct(figures.share_with_2fa)}); "
        f"{figures.critical_maintainers_with_2fa} of {figures.critical_maintainers} "
        f"critical-project maintainers ({_pct(figures.critical_maintainers_share_with_2fa)})"
    )
