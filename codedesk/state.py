"""The state folder (CODEDESK_HOME) on disk: created owner-only. It holds the query log, the durable
queue, the user-hash key and the caches, so nobody else on the host may read or replace them."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """`path` and any missing parents created owner-only (0700): the state folder holds the query log,
    the hashing key and caches. An existing folder keeps its mode (an operator may have chosen it)."""
    path = Path(path)
    if not path.is_dir():
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for p in missing:  # mkdir's mode is masked by the umask and applies to the last part only
            try:
                os.chmod(p, 0o700)
            except OSError:
                pass
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty and owner-only (0600) unless it exists, so SQLite opens a file nobody else
    can read (its -wal and -shm files take the same mode)."""
    path = Path(path)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    return path
