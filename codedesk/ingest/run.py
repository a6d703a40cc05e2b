"""The ingest job: collect documents from every source found, embed what changed, write a new index
generation and switch to it. A rerun with nothing changed compares one digest and stops."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from codedesk.embeddings import get_embedder
from codedesk.ingest.documents import Doc
from codedesk.ingest.sources import collect
from codedesk.ingest.store import Generation, IndexStore, iter_all
from codedesk.settings import Settings

log = logging.getLogger(__name__)
WRITE_BATCH = 2000


@dataclass(slots=True)
class IngestSummary:
    generation: str
    changed: bool
    documents: int = 0
    vectors: int = 0
    texts: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    per_source: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = (
            "index up to date: nothing changed"
            if not self.changed
            else f"index generation {self.generation} is now serving"
        )
        out = [
            head,
            f"documents {self.documents} (vectors {self.vectors}, lexical-only {self.texts}); "
            f"added {self.added}, updated {self.updated}, removed {self.removed}, unchanged {self.unchanged}; "
            f"embedded {self.embedded}, reused {self.reused}; {self.seconds:.1f} s",
        ]
        out += [f"  {name}: {count}" for name, count in sorted(self.per_source.items())]
        return out


def _digest(docs: list[Doc], model: str) -> str:
    h = hashlib.sha1(model.encode())
    for d in sorted(docs, key=lambda d: d.id):
        h.update(f"{d.id}\x1f{d.content_hash}\n".encode())
    return h.hexdigest()


def partition_of(doc: Doc) -> str:
    """The vector collection a document belongs to: one per code set and year, one per other source."""
    meta = doc.metadata
    if meta.get("source_type") == "tabular":
        return f"icd10cm-{meta.get('fiscal_year', '')}"
    system = str(meta.get("system", "")).lower().replace("-", "")
    kind = str(meta.get("source_type", "other")).replace("_", "")
    return f"{kind}-{system}" if system and system not in kind else kind


def _vhash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def ingest(settings: Settings, *, force: bool = False, progress: bool = True) -> IngestSummary:
    start = time.perf_counter()
    docs, per_source, notices = collect(settings)  # raises SourceError before anything is written
    seen: dict[str, Doc] = {}
    for d in docs:  # the last writer of an id wins; ids are stable so duplicates are rare
        seen[d.id] = d
    docs = list(seen.values())
    embedder = get_embedder(settings.cache_dir, settings.embedding_backend)
    store = IndexStore(settings)
    previous = store.active()
    digest = _digest(docs, embedder.model_name)
    summary = IngestSummary(
        previous.gen if previous else "",
        changed=False,
        documents=len(docs),
        per_source=per_source,
        notices=notices,
    )
    vec_docs = [d for d in docs if d.vector_text]
    txt_docs = [d for d in docs if not d.vector_text]
    summary.vectors, summary.texts = len(vec_docs), len(txt_docs)
    if (
        previous
        and previous.digest == digest
        and previous.model == embedder.model_name
        and not force
    ):
        summary.unchanged = len(docs)
        summary.seconds = time.perf_counter() - start
        store.drop_inactive()
        return summary

    # What the serving generation already has: content hashes for the counts, vectors for reuse.
    old_hash: dict[str, str] = {}
    cache: dict[str, np.ndarray] = {}
    if previous and previous.model == embedder.model_name:
        named = [(n, ["metadatas", "embeddings"]) for n in previous.vec_names] + [
            (previous.txt_name, ["metadatas"])
        ]
        for name, include in named:
            for page in iter_all(store.collection(name), include):
                for i, doc_id in enumerate(page["ids"]):
                    meta = page["metadatas"][i]
                    old_hash[doc_id] = meta.get("hash", "")
                    if "embeddings" in include and meta.get("vhash"):
                        cache[meta["vhash"]] = np.asarray(page["embeddings"][i], np.float32)
    for d in docs:
        if d.id not in old_hash:
            summary.added += 1
        elif old_hash[d.id] != d.content_hash:
            summary.updated += 1
        else:
            summary.unchanged += 1
    summary.removed = len(set(old_hash) - {d.id for d in docs})

    todo = list(
        dict.fromkeys(d.vector_text for d in vec_docs if _vhash(d.vector_text) not in cache)
    )
    summary.embedded, summary.reused = (
        len(todo),
        len(vec_docs) - sum(1 for d in vec_docs if _vhash(d.vector_text) not in cache),
    )
    if todo:
        with tqdm(
            total=len(todo), desc="embedding", unit="doc", disable=not progress or None
        ) as bar:
            vectors = embedder.encode(todo, progress=bar.update)
        for text, vec in zip(todo, vectors, strict=True):
            cache[_vhash(text)] = vec

    by_part: dict[str, list[Doc]] = {}
    for d in vec_docs:
        by_part.setdefault(partition_of(d), []).append(d)
    gen, vec_cols, txt_col = store.create(sorted(by_part))
    total = len(vec_docs) + len(txt_docs)
    plan = [(docs_, vec_cols[p], True) for p, docs_ in sorted(by_part.items())] + [
        (txt_docs, txt_col, False)
    ]
    with tqdm(total=total, desc="writing index", unit="doc", disable=not progress or None) as bar:
        for batch_docs, col, dense in plan:
            for i in range(0, len(batch_docs), WRITE_BATCH):
                batch = batch_docs[i : i + WRITE_BATCH]
                metas = [
                    {
                        **d.metadata,
                        "hash": d.content_hash,
                        "vhash": _vhash(d.vector_text) if dense else "",
                    }
                    for d in batch
                ]
                embs = (
                    np.stack([cache[m["vhash"]] for m in metas])
                    if dense
                    else np.ones((len(batch), 1), np.float32)
                )
                col.add(
                    ids=[d.id for d in batch],
                    documents=[d.text for d in batch],
                    metadatas=metas,
                    embeddings=embs,
                )
                bar.update(len(batch))
    sources = ",".join(f"{k}={v}" for k, v in sorted(per_source.items()))
    store.activate(
        Generation(
            gen,
            embedder.model_name,
            digest,
            len(vec_docs),
            len(txt_docs),
            time.time(),
            sources,
            ",".join(sorted(by_part)),
        )
    )
    summary.generation, summary.changed = gen, True
    summary.seconds = time.perf_counter() - start
    log.info(
        "ingest done gen=%s docs=%d embedded=%d seconds=%.1f",
        gen,
        len(docs),
        summary.embedded,
        summary.seconds,
    )
    return summary
