"""``bastion scan``: scan distributions for malware, offline (files) or what the index holds."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bastion.config import Settings
from bastion.protect.scan import ScanReport, config_from
from bastion.protect.scan.engine import Config, scan_bytes, scan_file
from bastion.services import Services

err = Console(stderr=True)
COLOURS = {"clean": "green", "suspicious": "yellow", "malicious": "red", "error": "magenta"}


def report_json(file: str, report: ScanReport) -> dict[str, Any]:
    """The ``--json`` line for one file (the contract operators script against)."""
    line: dict[str, Any] = {
        "file": file,
        "verdict": report.verdict,
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity,
                "path": f.path,
                "line": f.line,
                "excerpt": f.excerpt,
            }
            for f in report.findings
        ],
        "seconds": round(report.seconds, 4),
    }
    if report.verdict == "error":
        line["reason"] = report.error or "unreadable"
    return line


def print_report(file: str, report: ScanReport, as_json: bool, verbose: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report_json(file, report)) + "\n")
        sys.stdout.flush()
        return
    out = Console(highlight=False, soft_wrap=True)
    colour = COLOURS[report.verdict]
    out.print(f"[{colour}]{report.verdict:10}[/{colour}] ", end="", markup=True)
    out.print(
        f"{file}  ({len(report.findings)} findings, {report.seconds * 1000:.0f} ms)", markup=False
    )
    if report.error:
        out.print(f"    {report.error}", markup=False)
    for finding in report.findings:
        if finding.severity == "info" and not verbose:
            continue
        where = f"{finding.path}:{finding.line}" if finding.line else finding.path
        out.print(f"    {finding.severity:8} {finding.rule:28} {where}", markup=False)
        if finding.excerpt:
            out.print(f"             {finding.excerpt}", markup=False)


@contextmanager
def progress(total: int) -> Iterator[Progress | None]:
    """A progress bar on a terminal's stderr for several files; nothing otherwise."""
    if total < 2 or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        yield bar


def _scan_store(config: Config, as_json: bool, verbose: bool) -> None:
    from bastion.cli.runner import run_with_services
    from bastion.protect.scan.stored import stored_files

    async def work(services: Services) -> None:
        async with services.db.session() as session:
            files = await stored_files(session)
        with progress(len(files)) as bar:
            task = bar.add_task("scan", total=len(files)) if bar else None
            for stored in files:
                try:
                    data = await services.store.read_bytes(stored.path)
                except (OSError, FileNotFoundError) as exc:
                    report = ScanReport(stored.filename, "error", error=f"not in the store: {exc}")
                else:
                    report = await asyncio.to_thread(scan_bytes, data, stored.filename, config)
                print_report(stored.filename, report, as_json, verbose)
                if bar is not None and task is not None:
                    bar.advance(task)

    run_with_services(work)


def scan(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Archives: wheels, sdists (.tar.gz, .zip).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    store: Annotated[
        bool, typer.Option("--store", help="Rescan every file the index holds (read-only).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show info findings too.")
    ] = False,
) -> None:
    """Scan distributions for malware without running them.

    Each file gets a verdict: clean, suspicious, malicious, or error (unreadable).
    """
    config = config_from(Settings())
    if store:
        _scan_store(config, as_json, verbose)
        return
    if not files:
        err.print("[red]error:[/red] give archives to scan, or --store")
        raise typer.Exit(2)
    with progress(len(files)) as bar:
        task = bar.add_task("scan", total=len(files)) if bar else None
        for path in files:
            report = scan_file(path, path.name, config)
            print_report(str(path), report, as_json, verbose)
            if bar is not None and task is not None:
                bar.advance(task)
