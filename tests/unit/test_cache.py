"""Issue 13 item 4: one cache helper (`codedesk.cache.Cache`) for every cache. An entry is keyed on its
input files and the source of the modules that build it, replaces the older entries of its name, is
written atomically, is built once when processes start together, keeps large arrays outside the pickle
(mapped, nothing runs when they are read) and stays verified before anything is unpickled."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from codedesk.cache import MAGIC, Cache, Deferred, LazyMap, code_digest, read_pickle, write_pickle


def _entries(folder: Path, name: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"{name}-*.pickle"))


def test_the_key_follows_inputs_code_and_data(tmp_path: Path) -> None:
    src = tmp_path / "in.xml"
    src.write_text("<a/>")
    data = tmp_path / "words.toml"
    data.write_text("a = 1")

    def key(**kw: object) -> str:
        return Cache(
            tmp_path, "thing", inputs=[src], code=["codedesk.cache"], data=[data], **kw
        ).key  # type: ignore[arg-type]

    first = key()
    assert key() == first  # stable
    assert key(extra="2026") != first
    src.write_text("<a></a>")  # size and mtime
    assert key() != first
    second = key()
    data.write_text("a = 2")  # a data file's bytes
    assert key() != second
    assert Cache(tmp_path, "thing", inputs=[src], code=["codedesk.state"], data=[data]).key != key()
    with pytest.raises(ModuleNotFoundError):  # a moved module fails loudly, never hashes nothing
        code_digest(["codedesk.no_such_module"])
    missing = Cache(tmp_path, "thing", inputs=[tmp_path / "later.xml"]).key
    (tmp_path / "later.xml").write_text("x")  # a file that appears later changes the key
    assert Cache(tmp_path, "thing", inputs=[tmp_path / "later.xml"]).key != missing


def test_get_builds_once_then_reads_and_a_new_entry_replaces_the_old(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("one")
    calls: list[str] = []

    def build() -> dict[str, str]:
        calls.append("built")
        return {"E11.22": src.read_text()}

    assert Cache(tmp_path, "codes-2026", inputs=[src]).get(build) == {"E11.22": "one"}
    assert Cache(tmp_path, "codes-2026", inputs=[src]).get(build) == {"E11.22": "one"}
    assert calls == ["built"]
    other = Cache(tmp_path, "codes-2025", inputs=[src])  # another name: kept beside it
    other.get(build)
    (old,) = _entries(tmp_path, "codes-2026")
    time.sleep(0.01)
    src.write_text("two")
    assert Cache(tmp_path, "codes-2026", inputs=[src]).get(build) == {"E11.22": "two"}
    (new,) = _entries(tmp_path, "codes-2026")
    assert new != old and other.path.exists()
    assert Cache(None, "codes-2026").get(build) == {"E11.22": "two"}  # no folder: no caching


def test_older_format_files_of_a_shorter_name_are_removed(tmp_path: Path) -> None:
    legacy = (
        tmp_path / "searcher-30a5a476cfd870df.pickle"
    )  # the layout before entries had a year in the name
    legacy.write_bytes(b"CDPKL1\n" + bytes(40))
    Cache(tmp_path, "searcher-2026").save([1])
    assert not legacy.exists()
    Cache(tmp_path, "searcher-2025").save([2])
    assert (
        len(_entries(tmp_path, "searcher")) == 2
    )  # entries of the current format are never touched


def test_large_arrays_are_mapped_not_unpickled(tmp_path: Path) -> None:
    matrix = sparse.random(2000, 3000, density=0.02, format="csr", dtype=np.float32, random_state=1)
    obj = {
        "m": matrix,
        "chars": np.array([list("0DTJ4ZZ")] * 20000, dtype="U1"),
        "days": np.arange(20000).astype("datetime64[D]"),
        "small": np.arange(5),
        "same": None,
    }
    obj["same"] = obj["chars"]  # one array referenced twice is written once
    write_pickle(tmp_path / "arrays.pickle", obj)
    back = read_pickle(tmp_path / "arrays.pickle")
    assert (back["m"] != matrix).nnz == 0 and (back["chars"] == obj["chars"]).all()
    assert (back["days"] == obj["days"]).all() and back["same"] is back["chars"]
    assert isinstance(back["m"].data.base, np.ndarray)  # a view of the map, not a pickled copy
    before = (tmp_path / "arrays.pickle").read_bytes()
    back["m"].data[:] = 0  # copy-on-write: the process may change its arrays, never the file
    assert (tmp_path / "arrays.pickle").read_bytes() == before
    assert read_pickle(tmp_path / "arrays.pickle")["m"].data.any()


def test_a_changed_array_or_a_planted_file_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "arrays")
    cache.save({"v": np.arange(100_000, dtype=np.int64)})
    data = bytearray(cache.path.read_bytes())
    data[-3] ^= 1  # inside the array section: no code runs for it, still it is checked
    cache.path.write_bytes(bytes(data))
    assert cache.load() is None
    cache.path.write_bytes(pickle.dumps({"v": 1}))  # a plain pickle in its place
    assert cache.load() is None
    cache.save({"v": 1})
    assert cache.path.read_bytes().startswith(MAGIC)
    assert cache.load(kind=list) is None  # not what the caller expects: a miss too


class _Searcher(Deferred):
    deferred_attributes = frozenset({"titles", "matrix"})

    def __init__(self) -> None:
        self.words = {"appendectomy": 1}
        self.titles = [f"title {i}" for i in range(1000)]
        self.matrix = np.ones((300, 300), np.float32)


def test_deferred_attributes_are_read_on_first_use(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "procedures")
    cache.save(_Searcher())
    light = cache.load(_Searcher)
    assert light is not None
    assert "titles" not in light.__dict__ and light.words == {"appendectomy": 1}
    assert light.titles[5] == "title 5" and light.matrix.sum() == 90_000  # read now
    again = cache.load(_Searcher)
    copy = pickle.loads(pickle.dumps(again))  # pickling a copy reads what is still on disk
    assert copy.titles == light.titles
    with pytest.raises(AttributeError):
        _ = light.no_such_attribute


def _write_many(folder: str, n: int) -> None:
    for i in range(n):
        write_pickle(
            Path(folder) / "race.pickle", {"writer": os.getpid(), "i": i, "v": np.full(50_000, i)}
        )


def test_concurrent_writers_never_clash_and_readers_never_see_half_a_file(tmp_path: Path) -> None:
    write_pickle(tmp_path / "race.pickle", {"writer": 0, "i": -1, "v": np.full(50_000, -1)})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(tmp_path), 15)) for _ in range(2)]
    for p in procs:
        p.start()
    seen = 0
    while any(p.is_alive() for p in procs):
        got = read_pickle(tmp_path / "race.pickle")
        assert got is not None and (got["v"] == got["i"]).all()  # always a whole, consistent file
        seen += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert seen > 0 and not list(tmp_path.glob("*.tmp"))


def _build_with_marker(folder: str, marker: str) -> None:
    def build() -> list[int]:
        with open(marker, "a") as fh:
            fh.write("built\n")
        time.sleep(0.5)  # long enough for the other process to arrive while it builds
        return [1, 2, 3]

    assert Cache(folder, "slow").get(build) == [1, 2, 3]


def test_processes_starting_together_build_an_entry_once(tmp_path: Path) -> None:
    marker = tmp_path / "builds.txt"
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_build_with_marker, args=(str(tmp_path / "cache"), str(marker)))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert marker.read_text().splitlines() == ["built"]


def test_lazy_map_builds_each_value_once_on_first_use() -> None:
    built: list[str] = []
    lock = threading.Lock()

    def build(year: str) -> str:
        with lock:
            built.append(year)
        time.sleep(0.05)
        return f"book {year}"

    books = LazyMap(["2025", "2026", "2027"], build)
    assert list(books) == ["2025", "2026", "2027"] and "2026" in books and len(books) == 3
    assert built == []  # knowing the years loads nothing
    threads = [threading.Thread(target=lambda: books["2026"]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert built == ["2026"] and books.get("2024") is None and books.loaded() == ["2026"]
