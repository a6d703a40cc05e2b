"""Clinical shorthand and older terminology, read from `codedesk/data/vocabulary.toml`.

The vocabulary is data: every entry names its source (the Alphabetic Index's own see-references,
clinical abbreviations, notation, spelling). ABBREVIATIONS expand one token of a question; PHRASES
rewrite multi-word expressions; FOLDS map a word to the word the Tabular List uses (applied to
documents and questions alike, so they must never merge two different concepts).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

VOCABULARY_PATH = Path(__file__).with_name("data") / "vocabulary.toml"


@dataclass(slots=True, frozen=True)
class Entry:
    kind: str  # abbreviation | phrase | fold
    key: str  # the token, the pattern or the word
    value: str
    source: str


def load_vocabulary(path: Path = VOCABULARY_PATH) -> list[Entry]:
    """Every entry of the vocabulary file, in file order; an entry without a source is an error."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    fields = {
        "abbreviation": ("term", "means"),
        "phrase": ("pattern", "replace"),
        "fold": ("word", "to"),
    }
    out = []
    for kind, (key, value) in fields.items():
        for n, row in enumerate(data.get(kind, []), 1):
            if not (row.get(key) and row.get(value) is not None and row.get("source")):
                raise ValueError(f"{path}: [[{kind}]] #{n} needs {key}, {value} and source")
            out.append(Entry(kind, row[key], row[value], row["source"]))
    return out


VOCABULARY = load_vocabulary()
ABBREVIATIONS: dict[str, str] = {e.key: e.value for e in VOCABULARY if e.kind == "abbreviation"}
PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(e.key), e.value) for e in VOCABULARY if e.kind == "phrase"
]
FOLDS: dict[str, str] = {e.key: e.value for e in VOCABULARY if e.kind == "fold"}
