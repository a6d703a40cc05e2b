"""Issue 14: the retrieval caches in CODEDESK_HOME (code search here; tables, guidelines, procedures,
code books and the Index go through the same `codedesk.cache`) are verified before they are
unpickled: a pickle planted in place of a cache is rebuilt, never run."""

from __future__ import annotations

import pickle
from pathlib import Path

from codedesk.retrieval.codesearch import load_searcher


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_a_planted_searcher_cache_is_rebuilt_not_run(codebook, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = load_searcher(codebook, cache)
    (written,) = cache.glob("searcher-*.pickle")
    marker = tmp_path / "pwned"
    written.write_bytes(pickle.dumps(_Planted(marker)))
    again = load_searcher(codebook, cache)
    assert not marker.exists()
    assert again.book is codebook
    q = "essential hypertension"
    assert [h.code for h in again.search(q)][:3] == [h.code for h in first.search(q)][:3]
    assert load_searcher(codebook, cache) is not None  # the rebuilt cache is signed and read back
