"""ChromaDB with generations: an ingest writes a new generation and then switches one pointer, so a
failed or interrupted ingest leaves the previous index serving.

Collections per generation `G`: `codedesk-vec-G-P` for each partition `P` (documents with dense
vectors, cosine space: one per code set and year, one per other source, because a metadata filter
makes Chroma's search 20-30x slower) and `codedesk-txt-G` (lexical-only documents: Chroma requires
a vector, so they carry a constant 1-d one). The pointer is the record `active` in `codedesk-meta`,
readable by every worker of a Chroma
server as well as by the embedded store.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from codedesk.errors import IndexUnavailable, ModelMismatch
from codedesk.settings import Settings, redact_url

log = logging.getLogger(__name__)

META = "codedesk-meta"
PAGE = 5000  # Chroma's SQLite limits the number of ids per call


@dataclass(slots=True)
class Generation:
    gen: str
    model: str
    digest: str  # hash over every (id, content hash): equal digests = nothing to re-ingest
    vectors: int
    texts: int
    created: float
    sources: str  # "name=count,..." for `codedesk sources`
    partitions: str  # comma-separated partitions that have a vector collection

    def vec_name(self, partition: str) -> str:
        return f"codedesk-vec-{self.gen}-{partition}"

    @property
    def vec_names(self) -> list[str]:
        return [self.vec_name(p) for p in self.partitions.split(",") if p]

    @property
    def txt_name(self) -> str:
        return f"codedesk-txt-{self.gen}"


def make_client(settings: Settings) -> Any:
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            from codedesk.ingest.chroma_http import http_client

            return http_client(
                settings.chroma_host, settings.chroma_port, settings.chroma_timeout_s
            )
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as err:  # connection refused, bad path, …
        where = (
            redact_url(f"{settings.chroma_host}:{settings.chroma_port}")
            if settings.chroma_host
            else settings.chroma_dir
        )  # a host given as a URL may carry a token or password
        raise IndexUnavailable(
            f"the code index at {where} cannot be opened ({type(err).__name__}); "
            "check CODEDESK_CHROMA_HOST/PORT or run `codedesk ingest`"
        ) from err


class IndexStore:
    """The generations of the index in one Chroma client."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)

    def _meta(self) -> Any:
        return self.client.get_or_create_collection(META, embedding_function=None)

    def active(self) -> Generation | None:
        try:
            got = self._meta().get(ids=["active"], include=["metadatas"])
        except Exception as err:
            raise IndexUnavailable(
                f"the code index is unavailable ({type(err).__name__}); retry shortly"
            ) from err
        if not got["ids"]:
            return None
        m = got["metadatas"][0]
        return Generation(
            m["gen"],
            m["model"],
            m["digest"],
            m["vectors"],
            m["texts"],
            m["created"],
            m.get("sources", ""),
            m.get("partitions", ""),
        )

    def require_active(self, model: str) -> Generation:
        gen = self.active()
        if gen is None:
            raise IndexUnavailable("the code index has not been built yet: run `codedesk ingest`")
        if gen.model != model:
            raise ModelMismatch(
                f"the index was built with {gen.model!r} but {model!r} is configured: "
                "run `codedesk ingest` again or set CODEDESK_EMBEDDING_BACKEND to match"
            )
        return gen

    def create(self, partitions: list[str]) -> tuple[str, dict[str, Any], Any]:
        gen = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
        vecs = {
            p: self.client.create_collection(
                f"codedesk-vec-{gen}-{p}",
                embedding_function=None,
                metadata={"hnsw:space": "cosine", "hnsw:construction_ef": 64},
            )
            for p in partitions
        }
        txt = self.client.create_collection(f"codedesk-txt-{gen}", embedding_function=None)
        return gen, vecs, txt

    def activate(self, gen: Generation) -> None:
        meta = {
            "gen": gen.gen,
            "model": gen.model,
            "digest": gen.digest,
            "vectors": gen.vectors,
            "texts": gen.texts,
            "created": gen.created,
            "sources": gen.sources,
            "partitions": gen.partitions,
        }
        self._meta().upsert(
            ids=["active"], embeddings=[[1.0]], documents=["active generation"], metadatas=[meta]
        )
        self.drop_inactive()

    def drop_inactive(self) -> int:
        """Delete collections of older or abandoned generations (an interrupted ingest leaves some)."""
        active = self.active()
        keep = {*active.vec_names, active.txt_name} if active else set()
        dropped = 0
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(("codedesk-vec-", "codedesk-txt-")) and name not in keep:
                self.client.delete_collection(name)
                dropped += 1
        return dropped

    def collection(self, name: str) -> Any:
        """An existing collection; `IndexUnavailable` when the server is down or it is gone."""
        try:
            return self.client.get_collection(name, embedding_function=None)
        except Exception as err:
            raise IndexUnavailable(
                f"the code index is unavailable ({type(err).__name__}); retry shortly"
            ) from err


def iter_all(collection: Any, include: list[str]) -> Iterator[dict[str, Any]]:
    """Page through a whole collection (ids plus `include`)."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=PAGE, offset=offset)
        if not got["ids"]:
            return
        yield got
        offset += len(got["ids"])
