"""Which code system a question asks for: diagnosis (ICD-10-CM), procedure (ICD-10-PCS / HCPCS) or both.

The cues are data (`data/routing.toml`). A question that names no system is a diagnosis question when
the Alphabetic Index to Diseases explains most of its words, however strong the procedure words in it
("ESRD on hemodialysis" is a status, not a dialysis session to code).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codedesk.errors import SourceError

DATA_PATH = Path(__file__).with_name("data") / "routing.toml"
INDEX_EXPLAINS = (
    0.75  # share of a question's words an Index path explains for it to be a diagnosis question
)


@dataclass(slots=True, frozen=True)
class Route:
    diagnosis: bool  # answer with ICD-10-CM codes
    procedure: bool  # answer with ICD-10-PCS / HCPCS codes
    why: str  # one line for the answer when it matters ("" otherwise)


@lru_cache(maxsize=1)
def _cues() -> tuple[tuple[re.Pattern[str], str], ...]:
    data = tomllib.loads(DATA_PATH.read_text(encoding="utf-8"))
    out = []
    for entry in data.get("system_cue", ()):
        if not entry.get("source") or entry.get("system") not in (
            "diagnosis",
            "procedure",
            "table",
        ):
            raise SourceError(DATA_PATH, f"[[system_cue]] needs a source and a system: {entry}")
        out.append((re.compile(entry["pattern"], re.I), entry["system"]))
    return tuple(out)


def named_systems(question: str) -> set[str]:
    """The systems the question names explicitly ("ICD-10-PCS", "dx code", …)."""
    return {system for pattern, system in _cues() if pattern.search(question)}


def route(question: str, procedure_found: bool, index_coverage: float) -> Route:
    """`procedure_found`: the procedure search offered codes; `index_coverage`: the share of the
    question's words the best Alphabetic Index path explains (0 when none)."""
    named = named_systems(question)
    if "diagnosis" in named and "procedure" in named:
        return Route(
            True,
            True,
            "The question asks for both diagnosis (ICD-10-CM) and procedure codes: "
            "both are listed, each from its own code set.",
        )
    if "procedure" in named:
        return Route(False, procedure_found, "")
    if "diagnosis" in named or not procedure_found:
        return Route(True, False, "")
    if index_coverage >= INDEX_EXPLAINS:
        return Route(
            True,
            False,
            "Read as a diagnosis question: the Alphabetic Index explains its words; "
            "ask for the ICD-10-PCS or HCPCS code by name if you need the procedure.",
        )
    return Route(False, True, "")
