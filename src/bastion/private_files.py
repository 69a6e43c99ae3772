"""Files and folders only the server's user may read: the data dir (0700), the secret key,
the SQLite database and the mailbox (0600), created so from the start (no world-readable
moment between creating a file and narrowing its mode)."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700 when missing; an existing folder is left as the
    operator made it, except that it loses access for others."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        path.chmod(mode & ~0o077)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as 0600 when missing (its folder as :func:`private_dir`); an
    existing file loses any access for group and others."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            path.chmod(mode & ~0o077)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new 0600 file (refuses to overwrite one)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
