"""Dense retrieval over the serving index generation in Chroma."""

from __future__ import annotations

import logging
from typing import Any

from codedesk.embeddings import Embedder
from codedesk.errors import IndexUnavailable
from codedesk.ingest.store import Generation, IndexStore

log = logging.getLogger(__name__)


class DenseIndex:
    """Cosine search in the `codedesk-vec-*` collection of the serving generation."""

    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._cols: dict[str, Any] = {}
        self.generation: Generation = store.require_active(embedder.model_name)
        self._txt = store.collection(self.generation.txt_name)

    @property
    def partitions(self) -> list[str]:
        return [p for p in self.generation.partitions.split(",") if p]

    def refresh(self) -> bool:
        """Follow a newer generation if an ingest switched the pointer. True when it changed."""
        gen = self.store.require_active(self.embedder.model_name)
        if gen.gen == self.generation.gen:
            return False
        self.generation, self._cols = gen, {}
        self._txt = self.store.collection(gen.txt_name)
        return True

    def query(self, partition: str, text: str, k: int) -> list[tuple[dict[str, Any], str, float]]:
        """(metadata, document, cosine similarity) best first, from one partition (no metadata filter:
        a `where` clause makes Chroma's search 20-30x slower)."""
        if partition not in self.partitions:
            return []
        vec = self.embedder.encode([text])[0]
        try:
            got = self._query(partition, vec, k)
        except Exception as err:
            # Recover for the next call: forget the collection handle (the server restarted, or an
            # ingest switched generations and dropped it) and follow a newer generation, if any.
            if not self._recover(partition):
                if isinstance(err, IndexUnavailable):
                    raise
                raise IndexUnavailable(
                    f"the code index is unavailable ({type(err).__name__}); retrying may help"
                ) from err
            try:  # the index moved to a newer generation: ask it there, once
                got = self._query(partition, vec, k)
            except IndexUnavailable:
                raise
            except Exception as err2:
                raise IndexUnavailable(
                    f"the code index is unavailable ({type(err2).__name__}); retrying may help"
                ) from err2
        return [
            (m, d, 1.0 - dist)
            for m, d, dist in zip(
                got["metadatas"][0], got["documents"][0], got["distances"][0], strict=True
            )
        ]

    def _query(self, partition: str, vec: Any, k: int) -> dict[str, Any]:
        col = self._cols.get(partition) or self._cols.setdefault(
            partition, self.store.collection(self.generation.vec_name(partition))
        )
        return col.query(
            query_embeddings=[vec], n_results=k, include=["metadatas", "documents", "distances"]
        )

    def _recover(self, partition: str) -> bool:
        """After a failed query: drop the cached handle; True when a newer generation is now followed
        (worth one more try), False when the index is still unreachable or unchanged."""
        self._cols.pop(partition, None)
        try:
            changed = self.refresh()
        except Exception:  # still unreachable: the caller says so, the next query tries again
            return False
        if changed:
            log.info("dense_index_followed generation=%s", self.generation.gen)
        return changed and partition in self.partitions

    def code_search(self, fiscal_year: str):
        """A `(question, k) -> [(code, similarity)]` function over one year's reportable base codes."""
        partition = f"icd10cm-{fiscal_year}"

        def search(question: str, k: int) -> list[tuple[str, float]]:
            hits = self.query(
                partition, question, k + k // 3
            )  # headers are dropped after the search
            return [(m["code"], s) for m, _, s in hits if m.get("leaf")][:k]

        return search

    def texts(self, where: dict[str, Any] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """Every lexical-only document (id, text, metadata) matching `where`, for lexical indexes."""
        out = []
        offset = 0
        while True:
            got = self._txt.get(
                where=where, include=["documents", "metadatas"], limit=5000, offset=offset
            )
            if not got["ids"]:
                return out
            out.extend(zip(got["ids"], got["documents"], got["metadatas"], strict=True))
            offset += len(got["ids"])
