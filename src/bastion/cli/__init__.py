"""The ``bastion`` command, one module per group. Its contract is stable: operators script it."""

from __future__ import annotations

import typer

from bastion.cli.admin import admin_app
from bastion.cli.critical import critical_app
from bastion.cli.db import db_app
from bastion.cli.giveaway import giveaway_app
from bastion.cli.jobs import jobs_app
from bastion.cli.metrics import metrics_app
from bastion.cli.names import names_app
from bastion.cli.origin import origin_app
from bastion.cli.project import project_app
from bastion.cli.review import review_app
from bastion.cli.scan import scan
from bastion.cli.serve import serve
from bastion.cli.stats import stats_app
from bastion.cli.token import token_app
from bastion.cli.user import user_app

app = typer.Typer(help="Bastion: a Python package index with strong 2FA.", no_args_is_help=True)
app.command()(serve)
app.command()(scan)
for group, name in (
    (db_app, "db"),
    (user_app, "user"),
    (stats_app, "stats"),
    (critical_app, "critical"),
    (giveaway_app, "giveaway"),
    (metrics_app, "metrics"),
    (token_app, "token"),
    (project_app, "project"),
    (admin_app, "admin"),
    (jobs_app, "jobs"),
    (names_app, "names"),
    (review_app, "review"),
    (origin_app, "origin"),
):
    app.add_typer(group, name=name)


def main() -> None:
    app()
