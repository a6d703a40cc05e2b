"""Frequent questions: near-identical logged questions grouped into review topics.

Two signals decide whether two questions are the same topic:

- the cosine of their embeddings (all-MiniLM-L6-v2, the app's one embeddings factory) computed on
  the scrubbed normalised text with the scrub tags removed and clinical shorthand expanded
  ("T2DM with CKD 3" reads "type 2 diabetes mellitus with chronic kidney disease 3");
- the overlap of what they were about: the codes answered, the codes and guideline sections cited,
  and codes named in the question (Jaccard of those keys, with category keys such as ``cat:N18``
  so stage 3 and stage 4 still overlap).

``similarity = cosine + OVERLAP_WEIGHT × jaccard`` when both questions have keys (minus
``DISJOINT_PENALTY`` when the keys are disjoint), the plain cosine otherwise. Identical texts are
collapsed first; the rest are grouped by average-linkage agglomerative clustering (scipy) cut at
``THRESHOLD`` — a deterministic function of the input — or, past ``MAX_AGGLOMERATIVE`` distinct
texts, by a deterministic greedy leader pass.

Topics are persisted in ``review_topic`` (with a summary: count, first/last seen, examples, the
answer, codes and sources most given) and each query points at its topic (``query_log.topic_id``).
Re-running for the same or an overlapping period keeps the ids: a group takes over the topic most
of its questions already belong to, else an earlier topic whose label is as close as a member
would be, else a new topic is created. Decisions (``review_decision.topic_id``) therefore stay
attached across runs.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, select

from codedesk.phi.scrub import TAG_RE, normalize
from codedesk.review.models import QueryCitation, QueryLog, ReviewTopic, utcnow

log = logging.getLogger(__name__)

THRESHOLD = 0.84  # 0.85 until 2026-12: paraphrases naming the same code (cosine ~0.50 + the full key overlap) fell
# to 0.848 with the current int8 ONNX numerics; different questions stay below (tests/integration/test_review_report.py)
OVERLAP_WEIGHT = 0.35
DISJOINT_PENALTY = 0.05
MAX_AGGLOMERATIVE = 2500  # distinct texts; ~300 MB peak at this size
EXAMPLES = 5
TOP_CODES = 5
TOP_SOURCES = 5
_CHUNK = 500  # ids per IN (...) list
_PG_LOCK_KEY = 0x746F7063  # "topc": serialises concurrent `codedesk review` runs on PostgreSQL

# Words that only carry the context of a removed identifier ("Pt [NAME] DOB [DATE] has …").
_CONTEXT_WORDS = frozenset(
    {"patient", "patients", "pt", "pts", "dob", "mrn", "mr", "mrs", "ms", "dr", "yo"}
)
_EXTRA_ABBREVIATIONS = {
    "poa": "present on admission",
    "dx": "diagnosis",
    "sx": "symptoms",
    "icd10": "icd 10",
    "ed": "emergency department",
    "er": "emergency department",
}
_TAG_LOWER = re.compile(r"\[[a-z_0-9 +]+\]")
# ICD-10-CM codes and categories named in a question (normalised, lower case): e11.22, n18, c7a.010.
_CODE_IN_TEXT = re.compile(
    r"(?<![\w.])([a-tv-z]\d\d(?:\.[0-9a-z]{1,4})?|[a-tv-z]\d[a-z]\.[0-9a-z]{1,4})(?![\w])"
)


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# --- features ---------------------------------------------------------------------------------------


def _abbreviations() -> dict[str, str]:
    try:  # the shared clinical vocabulary (a plain data table)
        from codedesk.vocabulary import ABBREVIATIONS
    except ImportError:  # pragma: no cover
        ABBREVIATIONS = {}
    return {**ABBREVIATIONS, **_EXTRA_ABBREVIATIONS}


_ABBREV = _abbreviations()


def embedding_text(normalized: str) -> str:
    """What is embedded for a question: its normalised form without scrub tags or the words that
    framed an identifier, with clinical shorthand expanded."""
    text = _TAG_LOWER.sub(" ", normalize(TAG_RE.sub(" ", normalized)))
    words = [_ABBREV.get(w, w) for w in text.split() if w not in _CONTEXT_WORDS]
    return " ".join(words) or normalized.strip()


def code_keys(code: str) -> set[str]:
    code = code.strip().upper()
    if not code:
        return set()
    return {f"code:{code}", f"cat:{code.split('.')[0][:3]}"}


def query_keys(
    *, normalized: str, codes: str | None, citations: Iterable[Any] = ()
) -> frozenset[str]:
    """What a question was about: codes answered (top 3), codes and guideline sections cited,
    codes named in the question."""
    keys: set[str] = set()
    for code in (codes or "").split(",")[:3]:
        keys |= code_keys(code)
    for c in citations:
        if getattr(c, "code", None):
            keys |= code_keys(c.code)
        elif getattr(c, "section", None):
            keys.add(f"{c.source_type}:{c.section}")
    for m in _CODE_IN_TEXT.finditer(normalized.lower()):
        keys |= code_keys(m.group(1))
    return frozenset(keys)


# --- similarity and clustering (pure) --------------------------------------------------------------


def _jaccard(
    keys_a: Sequence[frozenset[str]], keys_b: Sequence[frozenset[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """(jaccard, both_have_keys) matrices of shape len(a) × len(b)."""
    from scipy import sparse

    vocab: dict[str, int] = {}
    for ks in (*keys_a, *keys_b):
        for k in ks:
            vocab.setdefault(k, len(vocab))

    def matrix(keysets: Sequence[frozenset[str]]) -> Any:
        rows = [i for i, ks in enumerate(keysets) for _ in ks]
        cols = [vocab[k] for ks in keysets for k in ks]
        return sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(keysets), max(len(vocab), 1))
        )

    a, b = matrix(keys_a), matrix(keys_b)
    inter = (a @ b.T).toarray()
    size_a = np.asarray([len(k) for k in keys_a], np.float32)
    size_b = np.asarray([len(k) for k in keys_b], np.float32)
    union = size_a[:, None] + size_b[None, :] - inter
    both = (size_a[:, None] > 0) & (size_b[None, :] > 0)
    jac = np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float32), where=union > 0)
    return jac, both


def similarity(
    vecs_a: np.ndarray,
    keys_a: Sequence[frozenset[str]],
    vecs_b: np.ndarray,
    keys_b: Sequence[frozenset[str]],
) -> np.ndarray:
    """Combined similarity of every a to every b (rows are L2-normalised embeddings)."""
    cos = np.asarray(vecs_a, np.float32) @ np.asarray(vecs_b, np.float32).T
    jac, both = _jaccard(keys_a, keys_b)
    bonus = np.where(both, OVERLAP_WEIGHT * jac - DISJOINT_PENALTY * (jac == 0), 0.0)
    return (cos + bonus).astype(np.float32)


def cluster(
    vectors: np.ndarray,
    keysets: Sequence[frozenset[str]],
    *,
    weights: Sequence[int] | None = None,
    threshold: float = THRESHOLD,
    max_agglomerative: int = MAX_AGGLOMERATIVE,
) -> list[list[int]]:
    """Group row indices whose combined similarity reaches `threshold` (average linkage).
    Deterministic: groups are ordered by total weight (then first index), members by index."""
    n = len(vectors)
    if n == 0:
        return []
    weights = list(weights) if weights is not None else [1] * n
    if n == 1:
        groups = [[0]]
    elif n <= max_agglomerative:
        groups = _agglomerative(vectors, keysets, threshold)
    else:
        groups = _greedy(vectors, keysets, weights, threshold)
    groups = [sorted(g) for g in groups]
    return sorted(groups, key=lambda g: (-sum(weights[i] for i in g), g[0]))


def _agglomerative(
    vectors: np.ndarray, keysets: Sequence[frozenset[str]], threshold: float
) -> list[list[int]]:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    sim = similarity(vectors, keysets, vectors, keysets).astype(np.float64)
    dist = np.clip(1.0 - sim, 0.0, None)
    dist = (dist + dist.T) / 2
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    labels = fcluster(tree, t=(1.0 - threshold) + 1e-9, criterion="distance")
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    return list(groups.values())


def _greedy(
    vectors: np.ndarray, keysets: Sequence[frozenset[str]], weights: Sequence[int], threshold: float
) -> list[list[int]]:
    """Leader clustering for large inputs: most-asked first, each joins the best group (centroid
    cosine plus key overlap with the group's leader) or starts one."""
    order = sorted(range(len(vectors)), key=lambda i: (-weights[i], i))
    sums = np.zeros_like(vectors, dtype=np.float32)  # weighted sum of each group's vectors
    centroids = np.zeros_like(vectors, dtype=np.float32)
    leaders: list[frozenset[str]] = []
    groups: list[list[int]] = []
    for i in order:
        k = len(groups)
        best, best_score = -1, -np.inf
        if k:
            cos = centroids[:k] @ vectors[i]
            # only groups that key overlap could lift over the threshold need the exact score
            for g in np.flatnonzero(cos + OVERLAP_WEIGHT >= threshold):
                score = float(cos[g]) + _key_bonus(keysets[i], leaders[g])
                if score > best_score or (score == best_score and g < best):
                    best, best_score = int(g), score
        if best >= 0 and best_score >= threshold:
            groups[best].append(i)
        else:
            best = k
            groups.append([i])
            leaders.append(keysets[i])
        sums[best] += vectors[i] * weights[i]
        centroids[best] = sums[best] / max(float(np.linalg.norm(sums[best])), 1e-12)
    return groups


def _key_bonus(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    jac = len(a & b) / len(a | b)
    return OVERLAP_WEIGHT * jac - (DISJOINT_PENALTY if jac == 0 else 0.0)


def representative(
    members: Sequence[int],
    vectors: np.ndarray,
    keysets: Sequence[frozenset[str]],
    texts: Sequence[str],
    weights: Sequence[int],
) -> int:
    """The member that best stands for the group: closest on average to the others (weighted),
    preferring texts without scrub tags, then the most asked, then the first."""
    idx = list(members)
    if len(idx) == 1:
        return idx[0]
    sub = similarity(
        vectors[idx], [keysets[i] for i in idx], vectors[idx], [keysets[i] for i in idx]
    )
    w = np.asarray([weights[i] for i in idx], np.float32)
    score = (sub * w[None, :]).sum(axis=1) / w.sum()
    best = min(
        range(len(idx)),
        key=lambda k: (
            bool(TAG_RE.search(texts[idx[k]])),
            -round(float(score[k]), 4),
            -weights[idx[k]],
            idx[k],
        ),
    )
    return idx[best]


# --- summaries ------------------------------------------------------------------------------------


@dataclass(slots=True)
class SourceCount:
    source_type: str
    title: str
    section: str | None
    code: str | None
    fiscal_year: str | None
    count: int

    @property
    def label(self) -> str:
        where = self.section or ""
        if self.code and self.section and self.section != self.code:
            where = f"{self.code} {self.section}"
        elif self.code:
            where = self.code
        return f"{self.title} {where}".strip()

    @property
    def short(self) -> str:
        """A compact name for reports: "Guidelines I.C.4.a", "Tabular E11.22 use additional code"."""
        kind = self.source_type
        section = (self.section or "").replace("_", " ")
        if kind == "guideline":
            return f"{'PCS ' if 'PCS' in self.title else ''}Guidelines {section}".strip()
        if kind == "tabular":
            return f"Tabular {self.code or ''}{'' if section in ('', 'code') else ' ' + section}".strip()
        if kind == "team_guideline":
            return (
                self.title
                if self.title.lower().startswith("team guideline")
                else f"Team guideline {section}"
            )
        if kind in ("drug_table", "neoplasm_table", "index"):
            name = {
                "drug_table": "Table of Drugs",
                "neoplasm_table": "Neoplasm Table",
                "index": "Index",
            }[kind]
            return f"{name}: {section}" + (f" → {self.code}" if self.code else "")
        return self.label

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_type": self.source_type,
            "title": self.title,
            "section": self.section,
            "code": self.code,
            "fiscal_year": self.fiscal_year,
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceCount:
        return cls(
            d.get("source_type", ""),
            d.get("title", ""),
            d.get("section"),
            d.get("code"),
            d.get("fiscal_year"),
            int(d.get("count", 0)),
        )


@dataclass(slots=True)
class TopicStats:
    """What a set of logged questions asked and was answered."""

    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    examples: list[str] = field(default_factory=list)
    answer_summary: str | None = None
    codes: list[tuple[str, int]] = field(default_factory=list)
    sources: list[SourceCount] = field(default_factory=list)
    confidence: Counter[str] = field(default_factory=Counter)
    query_ids: list[int] = field(default_factory=list)


def summarize(
    rows: Sequence[QueryLog],
    citations: dict[int, list[QueryCitation]],
    *,
    examples: int = EXAMPLES,
    top_codes: int = TOP_CODES,
    top_sources: int = TOP_SOURCES,
) -> TopicStats:
    """Count, first/last seen, distinct example questions (most asked first), the answer summary
    most given, the codes most given (then best ranked) and the sources most cited."""
    stats = TopicStats(count=len(rows))
    if not rows:
        return stats
    stats.first_seen = min(r.created_at for r in rows)
    stats.last_seen = max(r.created_at for r in rows)
    stats.query_ids = [r.id for r in rows if r.id is not None]
    stats.confidence = Counter(r.confidence or "unknown" for r in rows)

    by_form: dict[str, list[QueryLog]] = defaultdict(list)
    for r in rows:
        by_form[embedding_text(r.normalized)].append(r)
    forms = sorted(
        by_form.values(),
        key=lambda rs: (-len(rs), bool(TAG_RE.search(rs[0].question)), rs[0].created_at),
    )
    stats.examples = [_pick_text(rs) for rs in forms[:examples]]

    summaries = Counter(r.answer_summary for r in rows if r.answer_summary)
    if summaries:
        latest = {r.answer_summary: r.created_at for r in sorted(rows, key=lambda r: r.created_at)}
        stats.answer_summary = max(summaries, key=lambda s: (summaries[s], latest[s]))

    code_count: Counter[str] = Counter()
    code_rank: dict[str, int] = defaultdict(int)
    for r in rows:
        for rank, code in enumerate(c for c in (r.codes or "").split(",") if c):
            code_count[code] += 1
            code_rank[code] += rank
    stats.codes = sorted(
        code_count.items(), key=lambda kv: (-kv[1], code_rank[kv[0]] / kv[1], kv[0])
    )[:top_codes]

    src: dict[tuple[str, str, str | None, str | None], SourceCount] = {}
    rank_sum: dict[tuple[str, str, str | None, str | None], int] = defaultdict(int)
    for r in rows:
        seen = set()
        for c in citations.get(r.id or -1, []):
            key = (c.source_type, c.title, c.section, c.code)
            if key in seen:
                continue
            seen.add(key)
            if key not in src:
                src[key] = SourceCount(c.source_type, c.title, c.section, c.code, c.fiscal_year, 0)
            src[key].count += 1
            rank_sum[key] += c.rank
    stats.sources = sorted(
        src.values(),
        key=lambda s: (
            -s.count,
            rank_sum[(s.source_type, s.title, s.section, s.code)] / s.count,
            s.label,
        ),
    )[:top_sources]
    return stats


def _pick_text(rows: Sequence[QueryLog]) -> str:
    """The question text to show for rows of one normalised form: one without tags if any."""
    for r in rows:
        if not TAG_RE.search(r.question):
            return r.question
    return rows[0].question


def load_citations(session: Session, query_ids: Sequence[int]) -> dict[int, list[QueryCitation]]:
    out: dict[int, list[QueryCitation]] = defaultdict(list)
    ids = list(query_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        stmt = (
            select(QueryCitation)
            .where(col(QueryCitation.query_id).in_(chunk))
            .order_by(col(QueryCitation.query_id), col(QueryCitation.rank))
        )
        for c in session.exec(stmt):
            out[c.query_id].append(c)
    return out


def load_period(
    session: Session, since: datetime, until: datetime
) -> tuple[list[QueryLog], dict[int, list[QueryCitation]]]:
    """Queries with since <= created_at < until (oldest first) and their citations."""
    rows = list(
        session.exec(
            select(QueryLog)
            .where(QueryLog.created_at >= since, QueryLog.created_at < until)
            .order_by(col(QueryLog.created_at), col(QueryLog.id))
        )
    )
    cites: dict[int, list[QueryCitation]] = defaultdict(list)
    stmt = (
        select(QueryCitation)
        .join(QueryLog, col(QueryLog.id) == col(QueryCitation.query_id))
        .where(QueryLog.created_at >= since, QueryLog.created_at < until)
        .order_by(col(QueryCitation.query_id), col(QueryCitation.rank))
    )
    for c in session.exec(stmt):
        cites[c.query_id].append(c)
    return rows, cites


def topic_sources(topic: ReviewTopic) -> list[SourceCount]:
    return [SourceCount.from_dict(d) for d in topic.sources or []]


def topic_keys(topic: ReviewTopic) -> frozenset[str]:
    """The keys of a stored topic, from its label, codes and sources (for matching by label)."""
    keys = set(query_keys(normalized=topic.normalized or normalize(topic.label), codes=topic.codes))
    for s in topic_sources(topic)[:3]:
        keys |= query_keys(normalized="", codes=None, citations=[s])
    return frozenset(keys)


# --- the run --------------------------------------------------------------------------------------


@dataclass(slots=True)
class TopicCount:
    topic: ReviewTopic
    count: int  # questions of the period in the topic


@dataclass(slots=True)
class TopicRun:
    since: datetime
    until: datetime
    questions: int = 0
    topics: list[TopicCount] = field(default_factory=list)  # most asked first
    created: int = 0
    reused: int = 0
    moved: int = 0  # questions that changed topic


def refresh_topics(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    embedder: Encoder,
    threshold: float = THRESHOLD,
    max_agglomerative: int = MAX_AGGLOMERATIVE,
) -> TopicRun:
    """Cluster the questions logged in [since, until), persist the topics and memberships and
    refresh the summary of every topic touched. The caller commits."""
    run = TopicRun(since=since, until=until)
    if (
        session.get_bind().dialect.name == "postgresql"
    ):  # one clustering at a time (SQLite: BEGIN IMMEDIATE)
        session.connection().execute(
            sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY}
        )
    rows, cites = load_period(session, since, until)
    run.questions = len(rows)
    if not rows:
        return run

    # identical texts are one item
    item_of: dict[str, int] = {}
    texts: list[str] = []
    members: list[list[QueryLog]] = []
    keys: list[set[str]] = []
    for r in rows:
        text = embedding_text(r.normalized)
        i = item_of.get(text)
        if i is None:
            i = item_of[text] = len(texts)
            texts.append(text)
            members.append([])
            keys.append(set())
        members[i].append(r)
        keys[i] |= query_keys(
            normalized=r.normalized, codes=r.codes, citations=cites.get(r.id or -1, [])
        )
    keysets = [frozenset(k) for k in keys]
    weights = [len(m) for m in members]
    vectors = np.asarray(embedder.encode(texts), np.float32)
    groups = cluster(
        vectors, keysets, weights=weights, threshold=threshold, max_agglomerative=max_agglomerative
    )
    questions = [_pick_text(m) for m in members]
    reps = [representative(g, vectors, keysets, questions, weights) for g in groups]

    # 1) a group keeps the topic most of its questions already belong to
    chosen: dict[int, int] = {}  # group index -> topic id
    claimed: set[int] = set()
    for gi, g in enumerate(groups):
        votes = Counter(r.topic_id for i in g for r in members[i] if r.topic_id is not None)
        for topic_id, _n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
            if topic_id not in claimed:
                chosen[gi] = topic_id
                claimed.add(topic_id)
                break

    # 2) else an earlier topic whose label is as close as a member would be
    open_groups = [gi for gi in range(len(groups)) if gi not in chosen]
    if open_groups:
        candidates = [
            t
            for t in session.exec(select(ReviewTopic).order_by(col(ReviewTopic.id)))
            if t.id not in claimed
        ]
        if candidates:
            t_vecs = np.asarray(
                embedder.encode(
                    [embedding_text(t.normalized or normalize(t.label)) for t in candidates]
                ),
                np.float32,
            )
            g_vecs = vectors[[reps[gi] for gi in open_groups]]
            scores = similarity(
                g_vecs,
                [keysets[reps[gi]] for gi in open_groups],
                t_vecs,
                [topic_keys(t) for t in candidates],
            )
            pairs = sorted(
                (
                    (float(scores[a, b]), a, b)
                    for a in range(len(open_groups))
                    for b in range(len(candidates))
                    if scores[a, b] >= threshold
                ),
                key=lambda p: (-p[0], p[1], p[2]),
            )
            for _score, a, b in pairs:
                gi, topic_id = open_groups[a], candidates[b].id
                if gi in chosen or topic_id in claimed:
                    continue
                assert topic_id is not None
                chosen[gi] = topic_id
                claimed.add(topic_id)

    # 3) else a new topic, labelled by its representative question
    for gi, _group in enumerate(groups):
        if gi in chosen:
            run.reused += 1
            continue
        label_row = members[reps[gi]][0]
        label = _pick_text(members[reps[gi]])
        topic = ReviewTopic(
            label=label,
            normalized=label_row.normalized if label == label_row.question else normalize(label),
        )
        session.add(topic)
        session.flush()
        assert topic.id is not None
        chosen[gi] = topic.id
        run.created += 1

    # memberships
    touched: set[int] = set(chosen.values())
    moves: dict[int, list[int]] = defaultdict(list)
    for gi, g in enumerate(groups):
        for i in g:
            for r in members[i]:
                if r.topic_id != chosen[gi]:
                    if r.topic_id is not None:
                        touched.add(r.topic_id)
                    moves[chosen[gi]].append(r.id)  # type: ignore[arg-type]
    for topic_id, ids in moves.items():
        for start in range(0, len(ids), _CHUNK):
            session.exec(
                sa.update(QueryLog)
                .where(col(QueryLog.id).in_(ids[start : start + _CHUNK]))
                .values(topic_id=topic_id)
            )  # type: ignore[call-overload]
        run.moved += len(ids)
    session.flush()
    session.expire_all()

    refresh_summaries(session, touched)
    period_counts: Counter[int] = Counter()
    for gi, g in enumerate(groups):
        period_counts[chosen[gi]] += sum(weights[i] for i in g)
    topics = {
        t.id: t
        for t in session.exec(
            select(ReviewTopic).where(col(ReviewTopic.id).in_(list(period_counts)))
        )
    }
    run.topics = [
        TopicCount(topics[tid], n)
        for tid, n in sorted(period_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    log.info(
        "topics refreshed since=%s until=%s questions=%d topics=%d created=%d reused=%d moved=%d",
        since.date(),
        until.date(),
        run.questions,
        len(run.topics),
        run.created,
        run.reused,
        run.moved,
    )
    return run


def refresh_summaries(session: Session, topic_ids: Iterable[int]) -> None:
    """Recompute the stored summary of these topics from all their questions."""
    ids = sorted(set(topic_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = list(
            session.exec(
                select(QueryLog)
                .where(col(QueryLog.topic_id).in_(chunk))
                .order_by(col(QueryLog.created_at), col(QueryLog.id))
            )
        )
        cites = load_citations(session, [r.id for r in rows if r.id is not None])
        by_topic: dict[int, list[QueryLog]] = defaultdict(list)
        for r in rows:
            by_topic[r.topic_id].append(r)  # type: ignore[index]
        for topic in session.exec(select(ReviewTopic).where(col(ReviewTopic.id).in_(chunk))):
            stats = summarize(by_topic.get(topic.id, []), cites)  # type: ignore[arg-type]
            topic.query_count = stats.count
            topic.first_seen, topic.last_seen = stats.first_seen, stats.last_seen
            topic.examples = stats.examples
            topic.answer_summary = stats.answer_summary
            topic.codes = ",".join(c for c, _ in stats.codes) or None
            topic.sources = [s.as_dict() for s in stats.sources]
            topic.updated_at = utcnow()
            session.add(topic)
    session.flush()


def parse_topic_id(text: str | int) -> int:
    """ "12", "T12", "T-12", "#12" → 12."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(?:#|t-?|topic\s*)?(\d+)\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(
            f"{text!r} is not a topic id: use the number shown by `codedesk review topics` (e.g. 12 or T12)"
        )
    return int(m.group(1))
