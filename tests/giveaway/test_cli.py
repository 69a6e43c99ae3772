"""``bastion giveaway``: create a program, load codes, report; against the test database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bastion.cli import app
from bastion.config import Settings
from bastion.services import Services

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, services: Services) -> dict[str, str]:
    """Environment that points the CLI at the test database (schema made by ``services``)."""
    return {
        "BASTION_DATA_DIR": str(settings.data_dir),
        "BASTION_DATABASE_URL": settings.database_url,
        "BASTION_SECRET_KEY": settings.secret_key,
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, ["giveaway", *args], env=env)


def test_create_load_and_report(env: dict[str, str], tmp_path: Path) -> None:
    created = invoke(
        env,
        "create-program",
        "Spring keys",
        "--vendor",
        "Yubico",
        "--model",
        "YubiKey 5 NFC",
        "--pool",
        "5",
        "--per-user",
        "1",
        "--regions",
        "de,fr",
        "--opens",
        "2030-01-01",
        "--closes",
        "2030-02-28",
    )
    assert created.exit_code == 0, created.output
    program_id = created.stdout.strip()
    assert program_id.isdigit()

    codes = tmp_path / "codes.csv"
    codes.write_text("\ufeffcode,batch\nAAAA-1,1\nBBBB-2,1\nAAAA-1,2\nno good,2\n")
    loaded = invoke(env, "load-codes", program_id, str(codes))
    assert loaded.exit_code == 0, loaded.output
    assert loaded.stdout.strip() == "loaded 2, duplicates 1, invalid 1"

    plain = tmp_path / "plain.txt"
    plain.write_text("BBBB-2\nCCCC-3\n")
    again = invoke(env, "load-codes", program_id, str(plain))
    assert again.stdout.strip() == "loaded 1, duplicates 1, invalid 0"

    report = invoke(env, "report", program_id, "--csv")
    assert report.exit_code == 0, report.output
    totals = next(csv.DictReader(io.StringIO(report.stdout.split("\n\n")[0])))
    assert totals["program"] == "Spring keys"
    assert (totals["pool_size"], totals["codes_loaded"], totals["codes_remaining"]) == (
        "5",
        "3",
        "3",
    )

    table = invoke(env, "report", program_id)
    assert table.exit_code == 0, table.output
    assert "codes loaded 3, claimed 0, remaining 3" in table.stdout


def test_bad_input_exits_with_a_message(env: dict[str, str], tmp_path: Path) -> None:
    bad_date = invoke(
        env,
        "create-program",
        "X",
        "--vendor",
        "V",
        "--model",
        "M",
        "--pool",
        "1",
        "--opens",
        "tomorrow",
        "--closes",
        "2030-01-01",
    )
    assert bad_date.exit_code == 2
    assert "is not a date: use YYYY-MM-DD" in bad_date.output

    reversed_dates = invoke(
        env,
        "create-program",
        "X",
        "--vendor",
        "V",
        "--model",
        "M",
        "--pool",
        "1",
        "--opens",
        "2030-02-01",
        "--closes",
        "2030-01-01",
    )
    assert reversed_dates.exit_code == 1
    assert "must close after it opens" in reversed_dates.output

    codes = tmp_path / "codes.csv"
    codes.write_text("AAAA-1\n")
    missing = invoke(env, "load-codes", "42", str(codes))
    assert missing.exit_code == 1
    assert "no giveaway program with id 42" in missing.output
    assert invoke(env, "report", "42").exit_code == 1
