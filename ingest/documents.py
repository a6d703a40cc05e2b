"""The unit of the index: one document with a stable id, its text, metadata and a content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

Meta = dict[str, str | int | float | bool]


@dataclass(slots=True)
class Doc:
    """A searchable record. `id` is stable: `{system}:{fy}:{kind}:{key}` (DESIGN.md)."""

    id: str
    text: str  # shown and searched lexically
    metadata: Meta = field(default_factory=dict)
    embed_text: str | None = None  # what gets a dense vector; None = `text`

    @property
    def vector_text(self) -> str:
        return self.embed_text if self.embed_text is not None else self.text

    @property
    def content_hash(self) -> str:
        payload = "\x1f".join([self.text, self.vector_text, repr(sorted(self.metadata.items()))])
        return hashlib.sha1(payload.encode()).hexdigest()


def doc_id(system: str, fiscal_year: str, kind: str, key: str) -> str:
    return f"{system}:{fiscal_year}:{kind}:{key}"
