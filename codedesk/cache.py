"""Pickle caches in `CODEDESK_HOME/cache`: read one back (or None when it is missing, stale, partial or
not ours) and write one atomically, so a reader never sees half a file and concurrent writers never clash.

Unpickling runs code, so a cache is loaded only after its integrity check: each file starts with a
header and an HMAC-SHA256 of its name and content, keyed by a secret created once per cache folder
(`cache.key`, mode 0600, in a folder created 0700). A file that fails the check — written by someone
else, changed, cut off, or from before the check existed — is a cache miss: it is rebuilt, and the
log says so without its content. Every pickle cache of the project goes through `read_pickle` /
`write_pickle`.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import logging
import os
import pickle
import secrets
import stat
import threading
from pathlib import Path
from typing import Any

from codedesk.state import private_dir

log = logging.getLogger(__name__)

MAGIC = b"CDPKL1\n"  # format of a verified cache file: MAGIC, 32-byte HMAC, pickle
KEY_FILE = "cache.key"
_MAC_BYTES = 32


def _key_path(path: Path) -> Path:
    return Path(path).parent / KEY_FILE


def _read_key(key_path: Path) -> bytes | None:
    """The folder's key, or None when it is missing or others could read or replace it."""
    try:
        fd = os.open(key_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (stat.S_IMODE(info.st_mode) & 0o077 or not stat.S_ISREG(info.st_mode)
                or (hasattr(os, "getuid") and info.st_uid != os.getuid())):
            log.warning("cache key ignored: not a private file of this user path=%s", key_path)
            return None
        data = os.read(fd, 256).strip()
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return key if len(key) >= 32 else None


def cache_key(folder: Path, *, create: bool) -> bytes | None:
    """The secret of a cache folder; created (0600, atomically) when `create` and none is usable."""
    key_path = Path(folder) / KEY_FILE
    key = _read_key(key_path)
    if key is not None or not create:
        return key
    private_dir(key_path.parent)
    tmp = key_path.with_name(f"{KEY_FILE}.{os.getpid()}-{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    if key_path.exists() or key_path.is_symlink():
        # An unusable key (wrong owner or mode, damaged) is replaced: the caches it signed are rebuilt.
        tmp.replace(key_path)
    else:
        try:
            os.link(tmp, key_path)  # another process may have created one meanwhile: then use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return _read_key(key_path)


def _mac(key: bytes, path: Path, payload: bytes | memoryview) -> bytes:
    mac = hmac.new(key, Path(path).name.encode("utf-8") + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def read_pickle(path: Path) -> Any | None:
    """The cached object, or None: a missing file, or one that cannot be read or fails its integrity
    check (rebuilt, never trusted). The file is read once into memory and checked before anything is
    unpickled. The collector is paused while loading: caches hold ~100k small objects and it would
    triple the time."""
    path = Path(path)
    if not path.is_file():
        return None
    key = cache_key(path.parent, create=False)
    try:
        data = path.read_bytes()
    except OSError:
        log.warning("cache unreadable, rebuilding path=%s", path)
        return None
    head = len(MAGIC) + _MAC_BYTES
    if key is None or len(data) < head or not data.startswith(MAGIC):
        log.warning("cache not verified (no key or not a signed cache), rebuilding path=%s", path)
        return None
    view = memoryview(data)
    if not hmac.compare_digest(bytes(view[len(MAGIC):head]), _mac(key, path, view[head:])):
        log.warning("cache failed its integrity check, rebuilding path=%s", path)
        return None
    gc.disable()
    try:
        return pickle.loads(view[head:])
    except Exception:
        log.warning("cache unreadable, rebuilding path=%s", path)
        return None
    finally:
        gc.enable()


def write_pickle(path: Path, obj: Any) -> None:
    """Signed, written to a temporary file unique to this process and thread, then renamed over `path`."""
    path = Path(path)
    private_dir(path.parent)
    key = cache_key(path.parent, create=True)
    if key is None:  # e.g. a key file another user owns: do not write what could never be verified
        raise OSError(f"no usable cache key in {path.parent}")
    tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + bytes(_MAC_BYTES))  # the MAC goes here once the pickle is streamed out
            signer = _SigningWriter(fh, hmac.new(key, path.name.encode("utf-8") + b"\0", hashlib.sha256))
            pickle.dump(obj, signer, protocol=pickle.HIGHEST_PROTOCOL)
            fh.seek(len(MAGIC))
            fh.write(signer.mac.digest())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _SigningWriter:
    """A file-like sink for pickle.dump that signs what it writes (no second copy in memory)."""

    def __init__(self, fh: Any, mac: Any) -> None:
        self.fh, self.mac = fh, mac

    def write(self, data: Any) -> int:
        self.mac.update(data)
        return self.fh.write(data)
