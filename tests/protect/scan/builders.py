"""Harmless demonstrator distributions built in memory for the scanner tests.

Each one imitates one technique of real malicious uploads, but "exfiltrates" only to
127.0.0.1 port 9 (discard), and none is ever installed, imported or run: the scanner
reads them as bytes.
"""

from __future__ import annotations

import io
import tarfile
import textwrap
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from bastion.protect.scan import ScanReport
from bastion.protect.scan.engine import Config, scan_bytes
from bastion.protect.scan.rules import load_rules

LOOPBACK = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Case:
    """A demonstrator archive and what the scan must say of it (verdict, rules among others)."""

    id: str
    filename: str
    data: bytes
    verdict: str
    rules: frozenset[str]


def scan(data: bytes, filename: str) -> ScanReport:
    return scan_bytes(data, filename, Config(rules=load_rules()))


def check(case: Case) -> None:
    """The case's verdict, its rules among those found, and where each finding is."""
    report = scan(case.data, case.filename)
    found = {f.rule for f in report.findings}
    assert report.verdict == case.verdict, sorted(found)
    assert case.rules <= found, sorted(case.rules - found)
    for finding in report.findings:
        assert finding.path and finding.excerpt is not None


def pkg_info(
    name: str, version: str, summary: str = "A demonstrator package", home: str = ""
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if home:
        lines.append(f"Home-page: {home}")
    return "\n".join(lines) + "\n\nA longer description of the demonstrator.\n"


def sdist(
    name: str, version: str, files: dict[str, str | bytes], *, info: str | None = None
) -> bytes:
    """A ``.tar.gz`` sdist: ``files`` are relative to the top directory ``name-version/``."""
    top = f"{name}-{version}"
    members: dict[str, str | bytes] = {
        "PKG-INFO": info if info is not None else pkg_info(name, version)
    }
    members.update(files)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in members.items():
            data = content.encode() if isinstance(content, str) else content
            entry = tarfile.TarInfo(f"{top}/{path}")
            entry.size = len(data)
            entry.mtime = int(time.time())
            archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def wheel(
    name: str, version: str, files: dict[str, str | bytes], *, info: str | None = None
) -> bytes:
    """A ``.whl`` (zip) with a ``.dist-info/METADATA``."""
    buffer = io.BytesIO()
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
        archive.writestr(
            f"{dist_info}/METADATA", info if info is not None else pkg_info(name, version)
        )
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    return buffer.getvalue()


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


PLAIN_SETUP = code(
    """
    import re
    from setuptools import setup

    with open("demo/__init__.py") as handle:
        version = re.search(r'__version__ = "(.+)"', handle.read()).group(1)

    setup(name="demo", version=version, packages=["demo"])
    """
)

# A module of real (if small) code: a package with it is no placeholder upload.
SMALL_LIBRARY = code(
    """
    \"\"\"Text helpers.\"\"\"

    import re
    import unicodedata

    WORDS = re.compile(r"[\\w']+")


    def slug(text: str, separator: str = "-") -> str:
        \"\"\"A lower-case ASCII slug of ``text``.\"\"\"
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return separator.join(word.lower() for word in WORDS.findall(ascii_text))


    def shorten(text: str, width: int = 40, tail: str = "...") -> str:
        \"\"\"``text`` cut to ``width`` characters at a word boundary.\"\"\"
        if len(text) <= width:
            return text
        cut = text[: width - len(tail)].rsplit(" ", 1)[0]
        return cut.rstrip(",.;:") + tail


    def count_words(text: str) -> dict[str, int]:
        \"\"\"How often each word occurs, case-insensitively.\"\"\"
        counts: dict[str, int] = {}
        for word in WORDS.findall(text.lower()):
            counts[word] = counts.get(word, 0) + 1
        return counts
    """
)


def demo_sdist(files: Mapping[str, str | bytes], **kwargs: str) -> bytes:
    """The ``demo`` 1.0 sdist: a ``demo`` package holding ``__version__``, plus ``files``."""
    return sdist("demo", "1.0", {"demo/__init__.py": '__version__ = "1.0"\n', **files}, **kwargs)
