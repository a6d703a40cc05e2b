"""Pickle caches in `CODEDESK_HOME/cache`: read one back (or None when it is missing, stale or partial) and
write one atomically, so a reader never sees half a file and concurrent writers never clash."""

from __future__ import annotations

import gc
import logging
import os
import pickle
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def read_pickle(path: Path) -> Any | None:
    """The cached object, or None: a missing file, or one that cannot be read (rebuilt, never trusted).
    The collector is paused while loading: caches hold ~100k small objects and it would triple the time."""
    if not path.is_file():
        return None
    gc.disable()
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except Exception:
        log.warning("cache unreadable, rebuilding path=%s", path)
        return None
    finally:
        gc.enable()


def write_pickle(path: Path, obj: Any) -> None:
    """Written to a temporary file unique to this process and thread, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
