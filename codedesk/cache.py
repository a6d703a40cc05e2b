"""The caches in `CODEDESK_HOME/cache`: one helper, `Cache`, for every cache of the project.

An entry is named `{name}-{key}.pickle`, where the key hashes the entry's input files (path, size,
mtime_ns), the source of the modules that build it (found through importlib, never by a relative
path), the data files those modules read, and any extra text. A new entry replaces the older entries
of its name when it is written, so a home holds one entry per name.

    cache = Cache(settings.cache_dir, "searcher-2026", inputs=[xml], code=["codedesk.retrieval.codesearch"])
    searcher = cache.get(lambda: CodeSearcher(book), kind=CodeSearcher)

On disk (`MAGIC`): a header (JSON) signed with HMAC-SHA256 keyed by a secret created once per cache
folder (`cache.key`, 0600, in a folder created 0700), then sections, each with its SHA-256 in the
header: pickle sections (the object graph) and raw array sections. Every NumPy array of plain dtype of
64 KiB or more is written as an array section and read back as a view of a copy-on-write memory map
(`np.frombuffer`: nothing runs on load, and processes share the pages); the rest is a pickle, which
runs code when loaded, so it is unpickled only after its check. A file that fails — written by someone
else, changed, cut off, copied under another name, or of an older format — is a cache miss: rebuilt,
and the log says so without its content.

Concurrency: a writer writes a temporary file unique to its process and thread and renames it over the
entry (`os.replace`), so a reader never sees half a file and two writers never clash; a reader that
has the old file mapped keeps it. `Cache.get` builds under an advisory lock (`.{name}.lock`), so
processes starting together build an entry once: the others wait and read it.

`Deferred` lets a class keep some attributes in a section of their own, unpickled on first use
(procedure search: the ICD-10-PCS titles and HCPCS are not read for a diagnosis question). `LazyMap`
holds values built on first access (the answer service's code books and searchers by fiscal year).
`read_pickle`/`write_pickle` read and write one object in the same signed format, without a key.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import hmac
import importlib.util
import io
import json
import logging
import mmap
import os
import pickle
import re
import secrets
import stat
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from codedesk.state import private_dir

log = logging.getLogger(__name__)

MAGIC = (
    b"CDCACHE2\n"  # MAGIC, 32-byte HMAC of the header, 8-byte header length, header JSON, sections
)
KEY_FILE = "cache.key"
SUFFIX = ".pickle"
FORMAT = "2"  # part of every key: a change of the file layout rebuilds every entry
_MAC_BYTES = 32
_ALIGN = 64
MIN_ARRAY_BYTES = 64 << 10  # smaller arrays stay inside the pickle
_KEY_CHARS = 16
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# ---- the folder's secret ----------------------------------------------------------------------------
def _read_key(key_path: Path) -> bytes | None:
    """The folder's key, or None when it is missing or others could read or replace it."""
    try:
        fd = os.open(key_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (
            stat.S_IMODE(info.st_mode) & 0o077
            or not stat.S_ISREG(info.st_mode)
            or (hasattr(os, "getuid") and info.st_uid != os.getuid())
        ):
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
            os.link(
                tmp, key_path
            )  # another process may have created one meanwhile: then use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return _read_key(key_path)


def _header_mac(key: bytes, path: Path, header: bytes) -> bytes:
    """Bound to the file's name: a valid entry copied under another cache's name is a miss."""
    return hmac.new(key, Path(path).name.encode("utf-8") + b"\0" + header, hashlib.sha256).digest()


# ---- keys ------------------------------------------------------------------------------------------
def _module_name(module: str | ModuleType) -> str:
    return module.__name__ if isinstance(module, ModuleType) else module


@lru_cache(maxsize=256)
def _source_digest(module: str) -> bytes:
    """SHA-1 of a module's source file, located by importlib (a moved or renamed module fails loudly
    here instead of silently hashing nothing). Read once per process: the code that runs is the code
    imported at start."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise ModuleNotFoundError(f"cache key: no source file for module {module!r}")
    return hashlib.sha1(Path(spec.origin).read_bytes()).digest()


@lru_cache(maxsize=256)
def _data_digest(path: str, size: int, mtime_ns: int) -> bytes:
    return hashlib.sha1(Path(path).read_bytes()).digest()


def file_stamp(path: str | os.PathLike[str] | None) -> str:
    """'path|size|mtime_ns' of an input file, or 'missing:path' (a file that appears later changes the key)."""
    if path is None:
        return "none"
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return f"missing:{p}"
    return f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def code_digest(
    code: Iterable[str | ModuleType] = (), data: Iterable[str | os.PathLike[str]] = ()
) -> str:
    """The version of the code that builds an entry: the source of each named module and the bytes of
    each data file it reads."""
    h = hashlib.sha1()
    for name in sorted({_module_name(m) for m in code}):
        h.update(name.encode() + b"\0" + _source_digest(name))
    for path in data:
        p = Path(path)
        st = p.stat()
        h.update(_data_digest(str(p.resolve()), st.st_size, st.st_mtime_ns))
    return h.hexdigest()


# ---- the file format -------------------------------------------------------------------------------
class _Pickler(pickle.Pickler):
    """Pickles an object graph, setting aside every large NumPy array of plain dtype as its own section."""

    def __init__(self, fh: io.BytesIO, arrays: list[np.ndarray]) -> None:
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.arrays = arrays
        self.seen: dict[int, int] = {}

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is np.ndarray and not obj.dtype.hasobject and obj.nbytes >= MIN_ARRAY_BYTES:
            n = self.seen.get(id(obj))
            if n is None:
                n = self.seen[id(obj)] = len(self.arrays)
                self.arrays.append(obj)
            return ("ndarray", n)
        return None


def _pad(n: int) -> int:
    return -n % _ALIGN


def _write(path: Path, parts: dict[str, Any]) -> None:
    """Write `{section name: object}` as one signed file: temporary file, then `os.replace`."""
    private_dir(path.parent)
    key = cache_key(path.parent, create=True)
    if key is None:  # e.g. a key file another user owns: do not write what could never be verified
        raise OSError(f"no usable cache key in {path.parent}")
    arrays: list[np.ndarray] = []
    pickles = {}
    for name, obj in parts.items():
        buf = io.BytesIO()
        _Pickler(buf, arrays).dump(obj)
        pickles[name] = buf.getvalue()
    blobs: list[tuple[dict[str, Any], bytes | memoryview]] = []
    for name, data in pickles.items():
        blobs.append(({"kind": "pickle", "name": name}, data))
    for a in arrays:
        raw = memoryview(
            np.ascontiguousarray(a).reshape(-1).view(np.uint8)
        )  # any plain dtype, datetime64 too
        blobs.append(({"kind": "array", "dtype": a.dtype.str, "shape": list(a.shape)}, raw))
    sections = []
    for meta, data in blobs:
        sections.append({**meta, "length": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    # Offsets depend on the header's length, which depends on the offsets: lay out until it is stable.
    head_len = 0
    while True:
        offset = len(MAGIC) + _MAC_BYTES + 8 + head_len
        offset += _pad(offset)
        for s in sections:
            s["offset"] = offset
            offset += s["length"] + _pad(s["length"])
        header = json.dumps({"sections": sections}, separators=(",", ":")).encode()
        if len(header) == head_len:
            break
        head_len = len(header)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(
                MAGIC + _header_mac(key, path, header) + len(header).to_bytes(8, "little") + header
            )
            for s, (_meta, data) in zip(sections, blobs, strict=True):
                fh.write(bytes(s["offset"] - fh.tell()))
                fh.write(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Corrupt(Exception):
    """A cache file that fails a check: a miss."""


class _Entry:
    """A verified cache file, mapped copy-on-write: arrays are views of the map (writes stay private)."""

    sections: list[dict[str, Any]]
    arrays: list[dict[str, Any]]

    def __init__(self, path: Path) -> None:
        key = cache_key(path.parent, create=False)
        if key is None:
            raise _Corrupt("no key")
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = len(MAGIC) + _MAC_BYTES + 8
            if size < head:
                raise _Corrupt("short")
            self.map = mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_COPY)
            self._verify(path, key, fh.fileno(), size)
            # pickles are read through the file (a deferred one maybe much later), not the map: their bytes
            # need not stay resident once unpickled
            self.fd = os.dup(fh.fileno())
        weakref.finalize(self, os.close, self.fd)

    def _read(self, offset: int, length: int) -> bytes:
        parts, left = [], length
        while left:
            chunk = os.pread(self.fd, min(left, 16 << 20), offset)
            if not chunk:
                raise _Corrupt("cut off")
            parts.append(chunk)
            offset, left = offset + len(chunk), left - len(chunk)
        return b"".join(parts)

    def _verify(self, path: Path, key: bytes, fd: int, size: int) -> None:
        head = len(MAGIC) + _MAC_BYTES + 8
        view = memoryview(self.map)
        if bytes(view[: len(MAGIC)]) != MAGIC:
            raise _Corrupt("not a signed cache of this format")
        n = int.from_bytes(view[len(MAGIC) + _MAC_BYTES : head], "little")
        header = bytes(view[head : head + n])
        if len(header) != n or not hmac.compare_digest(
            bytes(view[len(MAGIC) : len(MAGIC) + _MAC_BYTES]), _header_mac(key, path, header)
        ):
            raise _Corrupt("header fails its check")
        try:
            self.sections: list[dict[str, Any]] = json.loads(header)["sections"]
        except (ValueError, KeyError, TypeError):
            raise _Corrupt("header unreadable") from None
        self.arrays = [s for s in self.sections if s["kind"] == "array"]
        view.release()
        for s in self.sections:
            if s["offset"] + s["length"] > size:
                raise _Corrupt("cut off")
            # Every section is checked here (a bad one is a miss now, not an error at first use), read
            # through the file rather than the map, so parts not used yet are not resident; pickles are
            # checked again right before they are unpickled.
            digest, offset, left = hashlib.sha256(), s["offset"], s["length"]
            while left:
                chunk = os.pread(fd, min(left, 1 << 20), offset)
                if not chunk:
                    raise _Corrupt("cut off")
                digest.update(chunk)
                offset, left = offset + len(chunk), left - len(chunk)
            if digest.hexdigest() != s["sha256"]:
                raise _Corrupt("section fails its check")
        self._loaded: dict[int, np.ndarray] = {}

    @staticmethod
    def _check(section: dict[str, Any], data: bytes | memoryview) -> None:
        if hashlib.sha256(data).hexdigest() != section["sha256"]:
            raise _Corrupt("section fails its check")

    def names(self) -> list[str]:
        return [s["name"] for s in self.sections if s["kind"] == "pickle"]

    def array(self, n: int) -> np.ndarray:
        a = self._loaded.get(n)
        if a is None:
            s = self.arrays[n]
            dtype = np.dtype(s["dtype"])
            count = s["length"] // dtype.itemsize if dtype.itemsize else 0
            a = np.frombuffer(self.map, dtype, count, s["offset"]).reshape(s["shape"])
            self._loaded[n] = a
        return a

    def load(self, name: str) -> Any:
        s = next((s for s in self.sections if s["kind"] == "pickle" and s["name"] == name), None)
        if s is None:
            raise _Corrupt(f"no section {name}")
        data = self._read(s["offset"], s["length"])  # a copy: checked, then unpickled
        self._check(s, data)
        entry = self

        class _Unpickler(pickle.Unpickler):
            def persistent_load(self, pid: Any) -> Any:
                if not (isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "ndarray"):
                    raise pickle.UnpicklingError("unknown persistent id")
                return entry.array(int(pid[1]))

        # The collector is paused: caches hold ~100k small objects and it would triple the time. They live
        # as long as the process, so they are then frozen out of every later collection: a full collection
        # over them costs ~0.5 s, and the one at interpreter exit ~1.5 s.
        gc.disable()
        try:
            return _Unpickler(io.BytesIO(data)).load()
        finally:
            gc.freeze()
            gc.enable()


def _current(path: Path) -> bool:
    """Whether a file is in this format (a file of an older one can never be read again)."""
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def _open(path: Path) -> _Entry | None:
    if not path.is_file():
        return None
    try:
        return _Entry(path)
    except _Corrupt as why:
        log.warning("cache not verified (%s), rebuilding path=%s", why, path)
    except (OSError, ValueError):
        log.warning("cache unreadable, rebuilding path=%s", path)
    return None


def read_pickle(path: Path) -> Any | None:
    """The object of a signed cache file, or None: a missing file, or one that cannot be read or fails
    its integrity check (rebuilt, never trusted)."""
    path = Path(path)
    entry = _open(path)
    if entry is None:
        return None
    try:
        return entry.load("main")
    except _Corrupt as why:
        log.warning("cache not verified (%s), rebuilding path=%s", why, path)
    except Exception:
        log.warning("cache unreadable, rebuilding path=%s", path)
    return None


def write_pickle(path: Path, obj: Any) -> None:
    """Signed, written to a temporary file unique to this process and thread, then renamed over `path`."""
    _write(Path(path), {"main": obj})


# ---- attributes read on first use ------------------------------------------------------------------
class _Pending:
    def __init__(self, entry: _Entry, path: Path) -> None:
        self.entry, self.path, self.lock = entry, path, threading.Lock()
        self.state: dict[str, Any] | None = None

    def load(self) -> dict[str, Any]:
        with self.lock:
            if self.state is None:
                start = time.perf_counter()
                self.state = self.entry.load("deferred")  # checked again before it is unpickled
                log.debug(
                    "cache deferred part loaded path=%s seconds=%.3f",
                    self.path.name,
                    time.perf_counter() - start,
                )
            return self.state


class Deferred:
    """A class whose attributes named in `deferred_attributes` are written to a section of their own by
    `Cache.save` and read back on first access."""

    deferred_attributes: ClassVar[frozenset[str]] = frozenset()

    def __getattr__(self, name: str) -> Any:
        pending = self.__dict__.get("_cache_pending") if name != "__dict__" else None
        if pending is None or name not in type(self).deferred_attributes:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        state = pending.load()
        for k, v in state.items():
            self.__dict__.setdefault(k, v)
        self.__dict__.pop("_cache_pending", None)
        return self.__dict__[name]

    def load_deferred(self) -> None:
        """Read every deferred attribute now (before pickling a copy, or to warm a process)."""
        pending = self.__dict__.get("_cache_pending")
        if pending is not None:
            for k, v in pending.load().items():
                self.__dict__.setdefault(k, v)
            self.__dict__.pop("_cache_pending", None)

    def __getstate__(self) -> dict[str, Any]:
        self.load_deferred()
        return dict(self.__dict__)


# ---- the helper --------------------------------------------------------------------------------------
class Cache:
    """One cache entry: where it is, and how to read, write or build it. `folder` None: no caching."""

    def __init__(
        self,
        folder: str | os.PathLike[str] | None,
        name: str,
        *,
        inputs: Iterable[str | os.PathLike[str] | None] = (),
        code: Iterable[str | ModuleType] = (),
        data: Iterable[str | os.PathLike[str]] = (),
        extra: str = "",
    ) -> None:
        """`name`: what the entry is, unique in the folder (an entry replaces older ones of its name);
        `inputs`: files it is built from (keyed on path, size and mtime); `code`: modules whose source
        builds it; `data`: files those modules read (keyed on their bytes); `extra`: anything else."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name):
            raise ValueError(f"cache name {name!r}: lower-case letters, digits, '-' and '.' only")
        self.folder = Path(folder) if folder is not None else None
        self.name = name
        h = hashlib.sha1(f"{FORMAT}|{name}".encode())
        for p in inputs:
            h.update(b"\0" + file_stamp(p).encode())
        h.update(b"\0" + code_digest(code, data).encode() + b"\0" + extra.encode())
        self.key = h.hexdigest()[:_KEY_CHARS]

    @property
    def path(self) -> Path:
        assert self.folder is not None
        return self.folder / f"{self.name}-{self.key}{SUFFIX}"

    def load(self, kind: type[T] | None = None) -> T | Any | None:
        """The entry's object (deferred attributes still on disk), or None: missing, failing its
        check, unreadable, or not a `kind`."""
        if self.folder is None:
            return None
        entry = _open(self.path)
        if entry is None:
            return None
        try:
            obj = entry.load("main")
            if kind is not None and not isinstance(obj, kind):
                log.warning(
                    "cache holds a %s, not a %s; rebuilding path=%s",
                    type(obj).__name__,
                    kind.__name__,
                    self.path,
                )
                return None
            if "deferred" in entry.names() and isinstance(obj, Deferred):
                obj.__dict__["_cache_pending"] = _Pending(entry, self.path)
            return obj
        except _Corrupt as why:
            log.warning("cache not verified (%s), rebuilding path=%s", why, self.path)
        except Exception:
            log.warning("cache unreadable, rebuilding path=%s", self.path)
        return None

    def save(self, obj: Any) -> None:
        """Write the entry (atomically, signed), then remove the older entries of its name."""
        if self.folder is None:
            return
        parts: dict[str, Any] = {"main": obj}
        if isinstance(obj, Deferred) and type(obj).deferred_attributes:
            obj.load_deferred()
            names = type(obj).deferred_attributes
            light = object.__new__(type(obj))
            light.__dict__.update({k: v for k, v in obj.__dict__.items() if k not in names})
            parts = {
                "main": light,
                "deferred": {k: v for k, v in obj.__dict__.items() if k in names},
            }
        _write(self.path, parts)
        self.prune()

    def prune(self) -> None:
        """Remove the other entries of this name, files of an older format under a shorter name
        ('searcher-<key>' for 'searcher-2026'), and temporary files of crashed writers (after an hour)."""
        if self.folder is None:
            return
        hexkey = rf"-[0-9a-f]{{{_KEY_CHARS}}}{re.escape(SUFFIX)}"
        entry = re.compile(re.escape(self.name) + hexkey)
        tmp = re.compile(re.escape(self.name) + hexkey + r"\.\d+-\d+\.tmp")
        parts = self.name.split("-")
        older = (
            re.compile(
                "(?:"
                + "|".join(re.escape("-".join(parts[:n])) for n in range(1, len(parts)))
                + ")"
                + hexkey
            )
            if len(parts) > 1
            else None
        )
        now = time.time()
        for p in self.folder.glob(f"{parts[0]}-*"):
            try:
                if p.name == self.path.name:
                    continue
                if (
                    entry.fullmatch(p.name)
                    or (older is not None and older.fullmatch(p.name) and not _current(p))
                    or (tmp.fullmatch(p.name) and now - p.stat().st_mtime > 3600)
                ):
                    p.unlink(missing_ok=True)
            except OSError:
                continue

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An advisory lock on the entry's name, across processes and threads (released by the
        kernel if the holder dies)."""
        if self.folder is None:
            yield
            return
        try:
            private_dir(self.folder)
            fd = os.open(self.folder / f".{self.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except (
            OSError
        ):  # a read-only cache folder: build without the lock (the entry is not written either)
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def get(self, build: Callable[[], T], kind: type[T] | None = None) -> T:
        """The entry's object, or `build()` written as the entry. One process builds; others wait for
        it and read what it wrote. A cache that cannot be written costs a rebuild next time, nothing more."""
        if self.folder is None:
            return build()
        cached = self.load(kind)
        if cached is not None:
            return cached
        with self.lock():
            cached = (
                self.load(kind) if self.path.is_file() else None
            )  # built meanwhile by another process
            if cached is not None:
                return cached
            obj = build()
            try:
                self.save(obj)
            except OSError as err:
                log.warning("cache not written path=%s error=%s", self.path, err)
        return obj


# ---- values built on first use ---------------------------------------------------------------------
# One object per distinct immutable value (a token set, a tuple of codes) across everything a process
# loads: each cache entry is unpickled on its own, so the same words of FY2026 and FY2027 titles, or of
# thousands of Index terms, would otherwise each hold their own copy (~200 MB over three years).
_SHARED: dict[Hashable, Any] = {}
_SHARED_LOCK = threading.Lock()


def shared(value: K) -> K:
    """The process's one object equal to `value` (frozensets, strings and tuples of them only:
    values equal across types, 1 and 1.0, must not be mixed)."""
    found = _SHARED.get(value)
    if found is not None:
        return found  # type: ignore[no-any-return]
    with _SHARED_LOCK:
        return _SHARED.setdefault(value, value)  # type: ignore[no-any-return]


class LazyMap(Mapping[K, V], Generic[K, V]):
    """A read-only mapping whose keys are known up front and whose values are built on first access,
    once (thread-safe). `items()`/`values()` build every value: hot paths use `[key]`/`get`."""

    def __init__(self, keys: Iterable[K], build: Callable[[K], V]) -> None:
        self._keys = list(dict.fromkeys(keys))
        self._build = build
        self._values: dict[K, V] = {}
        self._locks = {k: threading.Lock() for k in self._keys}

    def __getitem__(self, key: K) -> V:
        if key in self._values:
            return self._values[key]
        lock = self._locks.get(key)
        if lock is None:
            raise KeyError(key)
        with lock:
            if key not in self._values:
                self._values[key] = self._build(key)
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._locks

    def __iter__(self) -> Iterator[K]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def loaded(self) -> list[K]:
        """The keys whose values are built."""
        return [k for k in self._keys if k in self._values]

    def __repr__(self) -> str:
        return f"LazyMap(keys={self._keys!r}, loaded={self.loaded()!r})"
