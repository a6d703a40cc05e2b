"""Official Guidelines retrieval: a coder's question -> the guideline sections that answer it, each with
its dotted id, the page, and the decisive sentence quoted.

What is indexed: every section's OWN text (never its children's), cut into short half-overlapping
windows of sentences, with the section's title, its parent's title and the higher ancestors' titles
as separate BM25F fields — so "Hypertensive Chronic Kidney Disease" under "Hypertension" under
"Chapter 9: Diseases of the Circulatory System" is found by words from any level, and the deepest
section whose own text holds the words wins. A section scores as its best window, plus a bonus for
the share of its own title the question says, plus (optionally) the cosine of the question to the
window's vector. Priors then apply what coders know about the book:

- setting: outpatient words ("office visit", "clinic", "ED") prefer Section IV and push back the
  inpatient-only Sections II, III and Appendix I (POA); inpatient words do the reverse;
- population: chapter 15 (maternal record) and chapter 16 (newborn record) step back unless the
  question names a pregnancy or a newborn;
- specificity: a slightly deeper section wins a tie with its parent;
- pointers: a section whose whole text is "See Section X ..." hands its score on to X;
  deleted ("GUIDELINE HAS BEEN DELETED") and reserved sections are not indexed;
- source: ICD-10-PCS guidelines compete only when the question is about a procedure; a team
  guideline is never ranked instead of the official section it refines — it follows it.

The quote is the sentence of the section that best matches the question (rule sentences preferred
over headings and cross-references), at most 300 characters, with the printed page where that
sentence starts (located in the PDF's page text when the loader has it).

A small, general vocabulary of coding terms ("rule out"/"probable"/"suspected" -> uncertain
diagnosis, "first-listed"/"primary" -> principal, "late effect" -> sequela, "nurse"/"dietitian" ->
documentation by other clinicians, desk shorthand like "r/o", "inpt", "f/u") widens the question,
never the documents. `guideline_intent` says how much a question asks for a rule rather than a code.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from codedesk.cache import Cache
from codedesk.codes import PROSE_CATEGORY, PROSE_DOTTED
from codedesk.retrieval.compose import Passage
from codedesk.retrieval.lexical import LexicalIndex
from codedesk.retrieval.schema import Citation
from codedesk.retrieval.text import FOLDS, STOPWORDS, stem, words
from codedesk.vocabulary import VOCABULARY_PATH

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]

CM_TITLE = "ICD-10-CM Official Guidelines for Coding and Reporting FY{fy}"
PCS_TITLE = "ICD-10-PCS Official Guidelines for Coding and Reporting FY{fy}"
MAX_QUOTE = 300
UNIT_CHARS = 450  # target size of an indexed window of sentences
# Ranking weights, chosen on the team's own development questions (not the gold set), then checked on gold.
FIELD_WEIGHTS = {"text": 1.0, "title": 2.5, "parent": 1.0, "path": 0.5, "section": 0.25}
EXPANSION_WEIGHT = 0.5  # a term added by the coding vocabulary, relative to a word of the question
W_TITLE = 0.2  # bonus for the share of a section's own title that the question says
W_DENSE = 1.0  # cosine (0..1) added to the lexical score scaled to the best section (0..1)
POINTER_PRIOR = 0.75  # a section whose whole text is "See Section X" ...
POINTER_FORWARD = 0.9  # ... passes this share of its score on to X
POPULATION_BOOST = 1.1  # chapter 15 / 16 when the question names a pregnancy / a newborn
POPULATION_PRIOR = 0.75  # ... and when it does not
OUTPATIENT_BOOST, INPATIENT_BOOST, OTHER_SETTING = 1.3, 1.15, 0.7

# --------------------------------------------------------------------------- text helpers

_CODE_IN_DOC = re.compile(rf"(?<![A-Za-z0-9])({PROSE_DOTTED})(?![A-Za-z0-9])")
_CODE_IN_QUESTION = re.compile(rf"(?<![A-Za-z0-9])({PROSE_DOTTED})(?![A-Za-z0-9])", re.I)


@lru_cache(maxsize=50_000)
def _tokens(text: str) -> tuple[str, ...]:
    """The shared clinical vocabulary (abbreviations, phrases, folds, stems) without the code-title
    negation of `codedesk.retrieval.text.tokens`: in guideline prose "no"/"without" do not negate a title."""
    return tuple(stem(FOLDS.get(w, w)) for w in words(text) if w not in STOPWORDS)


def tokens(text: str) -> list[str]:
    return list(_tokens(text))


def _code_terms(code: str) -> list[str]:
    """A code and its shorter forms as search terms: R65.21 -> @r65, @r65.2, @r65.21."""
    code = code.lower()
    head, _, tail = code.partition(".")
    out = [f"@{head}"]
    for i in range(1, len(tail) + 1):
        out.append(f"@{head}.{tail[:i]}")
    return out


def doc_terms(text: str) -> list[str]:
    """Search terms of guideline text: the shared clinical tokens plus code terms (`@e11.2`)."""
    codes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        codes.extend(_code_terms(m.group(1)))
        return " "

    rest = _CODE_IN_DOC.sub(keep, text)
    return [*tokens(rest), *codes]


def _question_codes(text: str) -> tuple[str, list[str]]:
    codes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        codes.extend(_code_terms(m.group(1)))
        return " "

    return _CODE_IN_QUESTION.sub(keep, text), codes


_ABBREV = re.compile(r"\b(e\.g|i\.e|vs|etc|approx|Dr|No|U\.S|Fig)\.$", re.I)
_SECTION_REF = re.compile(r"[Ss]ection\s+[IVX]+(?:\.\s?[A-Za-z0-9]{1,4})*\.$|Appendix\s+[IVX]+\.$")
_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[A-Z“\"(•])")
_MARKER_ONLY = re.compile(r"^\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)]$")
_LIST_LINE = re.compile(rf"^(?:•|{PROSE_CATEGORY}|\(?[a-z0-9]{{1,3}}[.)]\s|Except:)")


def split_sentences(text: str, hard_breaks: bool = False) -> list[str]:
    """Sentences of a guideline paragraph. List lines (bullets, code lists) stay separate; wrapped lines
    of a sentence are joined; "e.g.", "vs." and "Section I.B.18." do not end a sentence. With
    `hard_breaks` (the PDF parser keeps a line break only after a line that ends short: a heading or a
    list entry) a line break ends a sentence unless the next line starts in lower case."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    blocks: list[str] = []
    for line in lines:
        # a wrapped line continues its sentence; a short list item ("• Laterality") does not continue
        short_item = (
            blocks and _LIST_LINE.match(blocks[-1]) and len(blocks[-1]) < 60 and line[0].isupper()
        )
        hard = hard_breaks and not line[0].islower()
        if (
            blocks
            and not _LIST_LINE.match(line)
            and not re.search(r"[.:;!?]$", blocks[-1])
            and not short_item
            and not hard
        ):
            blocks[-1] = f"{blocks[-1]} {line}"
        else:
            blocks.append(line)
    out: list[str] = []
    for block in blocks:
        pieces = _SPLIT.split(block)
        merged: list[str] = []
        for piece in pieces:
            if merged and (
                _ABBREV.search(merged[-1])
                or _MARKER_ONLY.match(merged[-1])
                or _SECTION_REF.search(merged[-1])
                and len(piece) < 90
            ):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        out.extend(" ".join(p.split()) for p in merged if p.strip())
    return out


def _plain(markdown: str) -> str:
    """Markdown of a team guideline as plain lines: bullets as "•", no emphasis, quote or code marks."""
    out = []
    for line in markdown.splitlines():
        line = re.sub(r"^\s*>\s?", "", line)
        line = re.sub(r"^\s*[-*+]\s+", "• ", line)
        line = re.sub(r"^#+\s*", "", line)
        out.append(re.sub(r"\*\*|__|`", "", line))
    return "\n".join(out)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def clip_quote(sentence: str, limit: int = MAX_QUOTE) -> str:
    """The sentence itself when it fits; else cut at the last clause or word boundary, with "…"."""
    sentence = " ".join(sentence.split())
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    for sep in ("; ", ", ", " "):
        at = cut.rfind(sep)
        if at > limit * 0.6:
            return cut[:at].rstrip(" ,;:") + "…"
    return cut + "…"


# --------------------------------------------------------------------------- question vocabulary

# Coding-desk shorthand, rewritten before anything else reads the question.
_SHORTHAND = [
    (re.compile(p, re.I), r)
    for p, r in [
        (r"\bext\.? cause", "external cause"),
        (r"\bd/c\b", "discharge"),
        (r"\bf/u\b", "follow-up"),
        (r"\binpt\b", "inpatient"),
        (r"\boutpt\b", "outpatient"),
        (r"\babnl\b", "abnormal"),
        (r"\bpna\b", "pneumonia"),
        (r"\brd\b", "dietitian"),
        (r"\b(md|doc|dr)\b\.?", "provider"),
        (r"\bseq\b", "sequencing"),
        (r"\b(7th|seventh) char\b", "7th character"),
        (r"\bdx'?d\b", "diagnosed"),
        (r"\bdx\b", "diagnosis"),
        (r"\bhx\b", "history"),
        (r"\bpmh\b", "past medical history"),
        (r"\bpt\b", "patient"),
        (r"\bw/o\b", "without"),
        (r"\bw/", "with "),
        (r"\badmit\b", "admission"),
    ]
]


def expand_shorthand(question: str) -> str:
    for pattern, repl in _SHORTHAND:
        question = pattern.sub(repl, question)
    return question


# General coding vocabulary: a pattern in the question adds the words the guidelines use for it.
_VOCAB: list[tuple[str, str]] = [
    # uncertain diagnoses
    (
        r"\b(rule[sd]? out|r/o|probable|probably|suspected|suspect|suspicion|likely|possible|possibly|questionable|"
        r"presumed|presumptive|working diagnosis|consistent with|compatible with|differential|uncertain|"
        r"not (yet )?confirmed|unconfirmed|pending)\b",
        "uncertain diagnosis probable suspected questionable rule out",
    ),
    # principal / first-listed
    (
        r"\b(first[- ]listed|listed first|primary (diagnosis|dx|code)|principal|main diagnosis|goes? first|"
        r"code[sd]? first|put first|list first|sequenced? first|first code)\b",
        "principal first-listed sequenced first",
    ),
    (r"\b(order|sequence|sequencing|sequenced)\b", "sequencing sequenced"),
    (r"\b(secondary|additional) (diagnos[ie]s|dx|code)\b", "additional diagnoses secondary"),
    # signs and symptoms, integral conditions
    (r"\b(symptoms?|signs?|complaints?)\b", "signs symptoms"),
    (
        r"\b(pain|aches?|fever|cough|nausea|vomiting|dizz\w*|headaches?|fatigue|malaise|short(ness)? of breath|"
        r"dyspnea|rash|swelling|edema|weakness|bleeding|itching|palpitations|syncope|diarrhea|constipation)\b",
        "symptom",
    ),
    (
        r"\b(nothing (was )?found|ruled out|was excluded|no (disease|injury|condition|problem) (was )?found|"
        r"negative (work-?up|result|test)s?|tested negative|came back negative)\b",
        "ruled out suspected condition not found",
    ),
    (
        r"\b(integral|routinely associated|part of the disease|part of the condition|inherent|expected with)\b",
        "integral routinely associated disease process",
    ),
    (r"\b(confirmed|definitive|established)\b", "confirmed established definitive diagnosis"),
    # sequela
    (
        r"\b(late effects?|residuals?|sequelae|sequela|leftover|after[- ]effects?|old (injury|stroke|burn))\b",
        "sequela late effect residual",
    ),
    # combination codes, multiple coding
    (
        r"\b(combination codes?|one code|single code|both (conditions|diagnoses) in one)\b",
        "combination code multiple coding",
    ),
    (r"\b(acute on chronic|acute and chronic|subacute)\b", "acute chronic conditions"),
    (r"\b(bilateral|both sides|left and right|right and left|each side)\b", "bilateral laterality"),
    (r"\b(side|sided|laterality|right|left)\b", "laterality"),
    (r"\b(impending|threatened|about to)\b", "impending threatened"),
    (r"\b(borderline|pre-?diabetes)\b", "borderline"),
    (
        r"\b(no further detail|not specified|nothing more specific|without detail|no detail|unspecified|nos)\b",
        "unspecified default code",
    ),
    (
        r"\b(lacks?|lacking|insufficient|not enough|missing|incomplete|limited|vague|sparse)\b[^.?]{0,30}"
        r"\b(details?|information|info|documentation|specificity)\b",
        "insufficient information documentation specific unspecified",
    ),
    (
        r"\b(not documented|isn'?t documented|undocumented|doesn'?t (say|state|specify)|not stated|"
        r"never (says|states|documented)|unknown)\b",
        "not documented unspecified",
    ),
    # documentation and queries
    (
        r"\b(nurse|nurses|nursing|dietitian|dietician|nutritionist|therapist|social worker|case manager|"
        r"emt|paramedic|clinicians?)\b",
        "clinicians other than the provider documentation",
    ),
    (
        r"\b(query|queried|ask the (doctor|physician|provider)|clarif(y|ication)|conflicting)\b",
        "query provider clarification conflicting documentation",
    ),
    (r"\b(doctor|physician|attending|surgeon|provider)\b", "provider"),
    (
        r"\b(link|linked|linkage|relationship|related|connection|cause[ds]?|caused by|due to|associated)\b",
        "relationship causal due to associated with",
    ),
    (r"\b(assume|presume|presumed|imply|implied)\b", "presumes causal relationship"),
    (
        r"\b(clinical criteria|criteria|lab values?|doesn'?t meet|does not meet)\b",
        "clinical criteria",
    ),
    (
        r"\b(abnormal|labs?|laboratory|lab (results?|values?|findings?)|test results?|out of range|"
        r"incidental findings?|x-?rays?|imaging|radiology|ekg|ecg|pathology report)\b",
        "abnormal findings laboratory",
    ),
    (
        r"\b(comments?|commented|addressed|significance|significant|evaluated|monitored|worked up|work-?up)\b",
        "clinically significant evaluated treatment",
    ),
    (
        r"\b(lab work|labs? only|blood work|blood draw|x-?ray|imaging|radiology|mri|ct scan|ultrasound|"
        r"diagnostic (tests?|services?|studies)|testing)\b",
        "diagnostic services tests",
    ),
    (
        r"\b(kidney|renal|respiratory|liver|hepatic|heart|cardiac|multi-?organ) failure\b|\bencephalopathy\b|"
        r"\borgan (failure|damage|dysfunction)\b",
        "organ dysfunction",
    ),
    (r"\b(strokes?|cva|cerebral infarction|brain attack)\b", "cerebrovascular"),
    # drugs
    (
        r"\b(side effect|adverse (reaction|effect)|reaction to|as prescribed|correctly prescribed|"
        r"properly administered|taken correctly)\b",
        "adverse effect correctly prescribed properly administered",
    ),
    (r"\b(overdose|wrong (drug|medication|dose)|taken in error|too much)\b", "poisoning overdose"),
    (
        r"\b(underdos\w*|stopped taking|skipped|missed (doses?|medication)|took less|not taking|"
        r"ran out of|noncomplian\w*|non-complian\w*)\b",
        "underdosing noncompliance",
    ),
    # encounters, settings, services
    (
        r"\b(office|clinic|physician office|outpatient|ambulatory|emergency (department|room)|er|ed|urgent care|"
        r"walk-in|same[- ]day)\b",
        "outpatient services",
    ),
    (r"\b(visit|visits|seen)\b", "encounter visit"),
    (
        r"\b(admitted|admit|admission|inpatient|hospitali[sz]ed|discharged?)\b",
        "admission inpatient",
    ),
    (
        r"\b(pre-?op|pre-?operative|surgical clearance|pre-?surgical|clearance)\b",
        "preoperative evaluation",
    ),
    (
        r"\b(post-?op|post-?operative|post-?surgical|post-?procedural|after (the )?(surgery|procedure|operation))\b",
        "postoperative postprocedural",
    ),
    (
        r"\b(chemo|chemotherapy|immunotherapy|radiation|radiotherapy)\b",
        "chemotherapy immunotherapy radiation therapy",
    ),
    (
        r"\b(cancer|tumou?r|malignan\w*|carcinoma|neoplasms?|metasta\w*|mets)\b",
        "malignancy neoplasm",
    ),
    (r"\b(history of|hx of|h/o|previous|prior|past)\b", "history previous"),
    (r"\b(status post|s/p)\b", "status"),
    (r"\b(7th|seventh) character\b", "7th character"),
    (
        r"\b(initial|subsequent|active treatment|healing|routine healing)\b",
        "7th character encounter",
    ),
    (r"\b(newborn|baby|infant|neonate|birth)\b", "newborn perinatal"),
    (r"\b(pregnan\w*|prenatal|antenatal|obstetric\w*|ob)\b", "pregnancy obstetric"),
    (r"\b(delivery|delivered|labor)\b", "delivery"),
    (r"\b(present on admission|poa)\b", "present on admission POA indicator"),
    (
        r"\b(external cause|how (it|the injury) happened|place of occurrence|activity)\b",
        "external cause",
    ),
    (r"\b(z codes?|z-codes?)\b", "z codes"),
    (r"\b(nec|not elsewhere classified)\b", "not elsewhere classifiable nec other"),
    (r"\b(excludes ?1|excludes one)\b", "excludes1"),
    (r"\b(excludes ?2|excludes two)\b", "excludes2"),
]
VOCAB = [(re.compile(p, re.I), r) for p, r in _VOCAB]

_SYMPTOM = (
    r"\b(symptoms?|signs?|pain|aches?|fever|cough|nausea|vomiting|dizz\w*|headaches?|fatigue|"
    r"short(ness)? of breath|dyspnea|rash|swelling|edema|weakness|bleeding|itching|palpitations|syncope|"
    r"diarrhea|constipation)\b"
)
_NOT_ESTABLISHED = re.compile(
    r"\b(not|no|without|before|until|yet to|never)\b[^.?,;]{0,30}\b(confirm\w*|definitive|establish\w*|diagnos\w*)|"
    r"\b(confirm\w*|definitive|establish\w*|diagnos\w*)\b[^.?,;]{0,20}\b(not|isn'?t|hasn'?t|wasn'?t|never|pending)\b",
    re.I,
)
# Two ideas in one question that name one rule: a symptom beside an established diagnosis -> integral or not.
COMPOUND = [
    (re.compile(a, re.I), re.compile(b, re.I), r)
    for a, b, r in [
        (
            _SYMPTOM,
            r"\b(confirmed|definitive|established|known|diagnosed (with|as)|documented diagnosis|"
            r"diagnosis of|due to|caused by)\b",
            "symptom routinely associated integral disease process definitive diagnosis additional",
        ),
    ]
]

_OUTPATIENT = re.compile(
    r"\b(outpatient|office|clinic|physician'?s? office|ambulatory|emergency (department|room)|"
    r"er|ed|urgent care|same[- ]day|walk-in|provider[- ]based|home health|hospice|"
    r"first[- ]listed|visit)\b",
    re.I,
)
_INPATIENT = re.compile(
    r"\b(inpatient|admitted|admission|admit|hospitali[sz]ed|hospital stay|"
    r"discharge summary|at (the time of )?discharge|acute care hospital|short[- ]term|"
    r"long[- ]term care hospital|"
    r"psychiatric hospital|principal diagnosis|present on admission|poa)\b",
    re.I,
)
_PROCEDURE = re.compile(
    r"\b(procedures?|pcs|icd-?10-?pcs|root operations?|approach|body part|device|excision|"
    r"resection|biopsy|bypass|fusion|inspection|drainage|detachment|amputation|reposition|"
    r"transplantation|percutaneous|endoscopic|laparoscopic|operative episode|"
    r"principal procedure|qualifier)\b",
    re.I,
)
# Chapters 15 and 16 apply to one population each (the maternal record, the newborn record).
_PREGNANCY = re.compile(
    r"\b(pregnan\w*|obstetric\w*|ob|prenatal|antenatal|antepartum|postpartum|puerper\w*|"
    r"deliver\w*|labou?r|trimester|gestation\w*|abortion|miscarriage|ectopic|fet(us|al)|maternal|"
    r"childbirth|gravida|peripartum|[Oo]\d\d(\.\w+)?|[Zz]3[3-9](\.\w+)?)\b",
    re.I,
)
_NEWBORN = re.compile(
    r"\b(newborns?|neonat\w*|infants?|bab(y|ies)|birth\w*|perinatal|premature|prematurity|preterm|"
    r"liveborn|stillb\w*|nicu|[Pp]\d\d(\.\w+)?|[Zz]38(\.\w+)?|[Zz]05(\.\w+)?)\b",
    re.I,
)
_PCS_CODE = re.compile(r"(?<![A-Za-z0-9])[0-9BCDFGHX][0-9A-HJ-NP-Z]{6}(?![A-Za-z0-9])")


# Words of a question that say nothing about which rule is meant (the shared stopwords are for titles).
_QUESTION_STOP = frozenset(
    stem(w)
    for w in """if them they it its still instead also just any some ever really yes ok
okay get gets got go goes going thing things anything something someone everything now then here way need needs want
wants know sure correct again even already there so much many more most another every either neither whether while
since because although though however therefore thus such own very say says said tell told mean means actually yet
well anyway someone somebody guys today currently""".split()
)


def question_terms(question: str) -> dict[str, float]:
    """The question's search terms with weights: its own words (1 each) plus coding-vocabulary
    expansions (EXPANSION_WEIGHT, never above what a question word already has)."""
    question = expand_shorthand(question)
    rest, codes = _question_codes(question)
    weights: dict[str, float] = {}
    for t in tokens(rest):
        if t in _QUESTION_STOP:
            continue
        weights[t] = weights.get(t, 0.7) + 0.3  # a word said twice counts a little more, not double
    for t in codes:
        weights[t] = weights.get(t, 0.0) + 1.5
    added: dict[str, float] = {}
    for pattern, extra in VOCAB:
        if pattern.search(question):
            for t in tokens(extra):
                added[t] = EXPANSION_WEIGHT
    for first, second, extra in COMPOUND:
        if (
            first.search(question)
            and second.search(question)
            and not _NOT_ESTABLISHED.search(question)
        ):
            for t in tokens(extra):
                added[t] = EXPANSION_WEIGHT
    for t, w in added.items():
        if t not in weights:
            weights[t] = w
    return weights


# --------------------------------------------------------------------------- intent

# Cues that a question asks for a rule, with weights combined as independent evidence.
_RULE_CUES: list[tuple[re.Pattern[str], float]] = [
    (re.compile(p, re.I), w)
    for p, w in [
        (
            r"\b(can|may|should|must|do|does|would|could|shall)\s+(i|we|you|they|one|coders?)\b[^?.]{0,40}?\b(code|report|"
            r"assign|use|add|list|sequence|capture|bill|include|query|put|count|apply)\b",
            0.55,
        ),
        (
            r"\bis (it|this|that) (ok|okay|appropriate|correct|acceptable|allowed|required|necessary|proper|right|"
            r"permissible|mandatory)\b",
            0.6,
        ),
        (
            r"\b(appropriate|allowed|permitted|acceptable|required|mandatory|permissible|compliant)\b",
            0.3,
        ),
        (r"\bwhen (do|can|should|may|is|are|to|would)\b", 0.45),
        (
            r"\b(sequenc\w*|goes? first|first[- ]listed|listed first|principal|primary (diagnosis|dx)|"
            r"secondary diagnos\w*|in what order|which order|order of)\b",
            0.5,
        ),
        (r"\b(guidelines?|rules?|official|conventions?|coding clinic)\b", 0.6),
        (
            r"\b(probable|suspected|likely|possible|questionable|rule[sd]? out|r/o|working diagnosis|consistent with|"
            r"compatible with|uncertain(?! behaviou?r)|borderline|impending|threatened)\b",
            0.45,
        ),
        (
            r"\b(outpatient|inpatient|office visit|clinic|emergency department|observation|admitted|admission|"
            r"discharge|encounter)\b",
            0.2,
        ),
        (
            r"\b(excludes ?[12]|code first|use additional|code also|7th character|seventh character|placeholder|"
            r"combination code|default code|sequela|late effects?|laterality|integral|present on admission|poa|"
            r"as if (it|they) (existed|were confirmed)|z codes?)\b",
            0.4,
        ),
        (
            r"\bhow (do|should|would|can) (i|we|you) (code|report|sequence|handle|assign|capture)\b",
            0.3,
        ),
        (
            r"\bwhich (one|code|diagnosis|condition|is)\b[^?]{0,60}\b(first|principal|primary)\b",
            0.5,
        ),
        (
            r"\b(documented|documentation|documents|provider|physician|doctor|clinician|nurse|dietitian)\b",
            0.15,
        ),
        (r"\b(query|queried|clarif\w+)\b", 0.4),
        (
            r"\b(together|both|separately|instead of|versus|vs\.?|in addition to|also code|additional code)\b",
            0.15,
        ),
        (r"\b(assume|presume|link|linked|relationship)\b", 0.3),
        (r"\b(confirmed|definitive|established|unconfirmed|documented as)\b", 0.25),
        (
            r"\b(be|is|are|was|were|been|get|gets)\b[^?.]{0,40}?\b(coded|reported|assigned|used|listed|first-listed|"
            r"sequenced|captured|billed|included|considered|counted|classified)\b",
            0.5,
        ),
        (r"\b(always|never|ever|every time|required to)\b", 0.25),
        (
            r"\bhow (is|are|should|would) (that|it|this|these|they|[a-z]+) "
            r"(be )?(coded|reported|sequenced|classified)\b",
            0.4,
        ),
        (r"\bwhat (do|should|would|can) (i|we|you) (do|report|code|assign|use|list|put)\b", 0.45),
        (
            r"\b(how often|how many (codes|times)|difference between|what('?s|"
            r" is) the difference|what does [^?]{1,40} mean|"
            r"count as|considered (as )?(a|an)?|treated as)\b",
            0.4,
        ),
        (r"\b(or|versus|vs\.?)\b[^.?]{1,40}\?\s*$", 0.3),
        (r"\b(which|what) (category|chapter|one)\b", 0.25),
    ]
]
_CODE_CUES: list[tuple[re.Pattern[str], float]] = [
    (re.compile(p, re.I), w)
    for p, w in [
        (
            r"\b(what('?s| is) the (icd[- ]?10[- ]?(cm)? )?code|which "
            r"code (is|for)|(icd[- ]?10[- ]?(cm)? |dx |diagnosis )?"
            r"codes? for)\b",
            0.6,
        ),
        (r"\b(billable|valid code|reportable code|header code|code title|description of)\b", 0.5),
        (rf"^\s*{PROSE_DOTTED}\s*\??\s*$", 0.9),
        (r"\bwhat changed|new codes?|deleted codes?|revised\b", 0.5),
        # "can I bill I50.2?", "what does K21.1 mean?": about one code's validity or meaning
        (rf"\b(bill|report|use|submit)\s+{PROSE_DOTTED}\s*(\?|$|for\b)", 0.5),
        (r"\bwhat (does|is)\s+[A-Za-z]\d[0-9A-Za-z](\.[0-9A-Za-z]{1,4})?\b", 0.5),
    ]
]


def guideline_intent(question: str) -> float:
    """How much the question asks about a rule (sequencing, "can I code", uncertain diagnoses, setting,
    conventions) rather than for a code: 0 (a code request) .. 1 (a pure rule question)."""
    if not question or not question.strip():
        return 0.0
    question = expand_shorthand(question)
    rule = 1.0
    for pattern, w in _RULE_CUES:
        if pattern.search(question):
            rule *= 1.0 - w
    code = 1.0
    for pattern, w in _CODE_CUES:
        if pattern.search(question):
            code *= 1.0 - w
    return round(float(np.clip((1.0 - rule) * (0.3 + 0.7 * code), 0.0, 1.0)), 3)


def setting_of(question: str) -> str | None:
    """ "outpatient", "inpatient" or None from the question's words."""
    question = expand_shorthand(question)
    out = bool(_OUTPATIENT.search(question))
    inp = bool(_INPATIENT.search(question))
    if out and not inp:
        return "outpatient"
    if inp and not out:
        return "inpatient"
    if out and inp:  # "admitted from the ED": the admission decides
        return (
            "inpatient"
            if re.search(r"\b(inpatient|admitted|admission|admit)\b", question, re.I)
            else None
        )
    return None


def procedure_intent(question: str) -> float:
    if _PCS_CODE.search(question):
        return 1.0
    hits = len({m.group(0).lower() for m in _PROCEDURE.finditer(question)})
    return min(1.0, 0.45 * hits)


# --------------------------------------------------------------------------- the index


@dataclass(slots=True)
class _Sentence:
    text: str
    page: int
    toks: tuple[str, ...]  # search terms in order (`doc_terms`)
    terms: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.terms = frozenset(self.toks)


@dataclass(slots=True)
class _Doc:
    """One citable section of one source."""

    section: str  # "I.C.4.a.3", "B3.4b", "TG-001"
    title: str
    source_type: str  # "guideline" | "pcs" | "team_guideline"
    source_title: str
    fiscal_year: str
    level: int
    top: str  # "I", "II", "III", "IV", "Appendix I", "Introduction", "pcs", "team"
    page: int | None
    sentences: list[_Sentence]
    refines: tuple[str, ...] = ()
    anchor: str = ""  # team guideline part
    pointers: tuple[str, ...] = ()  # a "See Section X" section: the sections it sends the reader to


@dataclass(slots=True)
class _Scored:
    doc: np.ndarray  # ranking score per doc
    unit: np.ndarray  # score per window (to find the best window of a doc)
    terms: dict[str, float]  # the question's weighted terms
    cos: np.ndarray | None  # cosine per window, when dense


@dataclass(slots=True)
class GuidelineHit:
    section: str
    title: str
    page: int | None
    quote: str
    score: float  # 0..1: share of the question's words in the best passage (averaged with its cosine if dense)
    source_type: str  # "guideline" | "pcs" | "team_guideline"
    fiscal_year: str
    source_title: str = ""
    text: str = ""  # the quote with the sentence that follows it, for display
    refines: tuple[str, ...] = ()

    def passage(self) -> Passage:
        cite = Citation(
            source_type=self.source_type,
            title=self.source_title,
            section=self.section,
            page=self.page,
            fiscal_year=self.fiscal_year,
            quote=self.quote,
        )
        return Passage(citation=cite, text=self.text or self.quote)


def _sentences(
    paragraphs: Iterable[tuple[int | None, str]],
    pages: Mapping[int, str] | None,
    hard_breaks: bool = False,
) -> list[_Sentence]:
    out: list[_Sentence] = []
    for page, text in paragraphs:
        current = page
        for sent in split_sentences(text, hard_breaks):
            if pages and current is not None:
                current = _locate(sent, current, pages)
            out.append(
                _Sentence(sent, current if current is not None else 0, tuple(doc_terms(sent)))
            )
    return out


def _locate(sentence: str, page: int, pages: Mapping[int, str]) -> int:
    """The printed page where the sentence starts: the paragraph's page or one of the next two."""
    key = _norm(sentence)[:48]
    if len(key) < 12:
        return page
    for p in (page, page + 1, page + 2):
        if key in pages.get(p, ""):
            return p
    return page


class GuidelineSearcher:
    """Section-aware search over the ICD-10-CM Official Guidelines (and optionally the ICD-10-PCS
    guidelines and the team's own guidelines). Build once; `search` is a few milliseconds."""

    def __init__(
        self,
        docs: list[_Doc],
        units: list[tuple[int, int, int]],
        index: LexicalIndex,
        vectors: np.ndarray | None,
        fiscal_year: str,
    ) -> None:
        self.docs = docs
        self.units = units  # (doc index, first sentence, end sentence); contiguous per doc
        self.index = index
        self.vectors = vectors
        self.fiscal_year = fiscal_year
        self.embed: Embed | None = None
        doc_of_unit = np.asarray([u[0] for u in units], np.int64)
        self._unit_doc = doc_of_unit
        self._starts = (
            np.flatnonzero(np.r_[True, doc_of_unit[1:] != doc_of_unit[:-1]])
            if len(units)
            else np.zeros(0, np.int64)
        )
        self._docs_with_units = doc_of_unit[self._starts] if len(units) else np.zeros(0, np.int64)
        self._prior = np.asarray([_base_prior(d) for d in docs], np.float32)
        self._is_team = np.asarray([d.source_type == "team_guideline" for d in docs])
        self._is_pcs = np.asarray([d.source_type == "pcs" for d in docs])
        self._top = np.asarray([d.top for d in docs])
        self._chapter = np.asarray(
            [
                d.section.split(".")[2]
                if d.source_type == "guideline"
                and d.section.startswith("I.C.")
                and d.section.count(".") >= 2
                else ""
                for d in docs
            ]
        )
        by_section: dict[str, int] = {}
        for i, d in enumerate(docs):
            if d.source_type == "guideline":
                by_section.setdefault(d.section, i)
        self._forward = [
            (i, [by_section[t] for t in d.pointers if t in by_section])
            for i, d in enumerate(docs)
            if d.pointers
        ]
        self._title_docs: dict[str, list[int]] = {}
        mass = np.ones(len(docs), np.float32)
        for i, d in enumerate(docs):
            title_terms = set(doc_terms(d.title))
            for t in title_terms:
                self._title_docs.setdefault(t, []).append(i)
            mass[i] = max(1.0, sum(self._idf(t) for t in title_terms))
        self._title_mass = mass

    # -- pickling: the embedder is a live model, never pickled
    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("docs", "units", "index", "vectors", "fiscal_year")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(
            state["docs"], state["units"], state["index"], state["vectors"], state["fiscal_year"]
        )

    # -- building
    @classmethod
    def build(
        cls,
        sections: Sequence[Any],
        fiscal_year: str,
        *,
        pcs_guidelines: Sequence[Any] | None = None,
        team: Sequence[Any] | None = None,
        embed: Embed | None = None,
        page_text: Mapping[int, str] | None = None,
        pcs_fiscal_year: str | None = None,
    ) -> GuidelineSearcher:
        """`sections`: `codedesk.cms.guidelines_pdf.GuidelineSection`s; `pcs_guidelines`:
        `codedesk.cms.pcs.PcsGuideline`s;
        `team`: `codedesk.ingest.team.TeamGuideline`s (approved ones only are indexed); `embed`: texts -> L2-normalised
        rows; `page_text`: {printed page: text} of the PDF, to give each sentence its own page."""
        start = time.perf_counter()
        fy = str(fiscal_year)
        pages = {p: _norm(t) for p, t in page_text.items()} if page_text else None
        docs: list[_Doc] = []
        fields: list[dict[str, str]] = []
        units: list[tuple[int, int, int]] = []
        unit_texts: list[str] = []

        def add(doc: _Doc, parent: str, path: str) -> None:
            if not doc.sentences or all(_EMPTY.search(x.text) for x in doc.sentences):
                return
            di = len(docs)
            docs.append(doc)
            # Fields go to the index pre-tokenised (terms joined by spaces): each sentence is tokenised once.
            whole = " ".join(t for x in doc.sentences for t in x.toks)
            head = {
                "title": " ".join(doc_terms(doc.title)),
                "parent": " ".join(doc_terms(parent)),
                "path": " ".join(doc_terms(path)),
                "section": whole,
            }
            for a, b in _windows([len(x.text) for x in doc.sentences], UNIT_CHARS):
                text = " ".join(x.text for x in doc.sentences[a:b])
                units.append((di, a, b))
                fields.append(
                    {"text": " ".join(t for x in doc.sentences[a:b] for t in x.toks), **head}
                )
                unit_texts.append(
                    f"{doc.title}. {text}"
                    if doc.source_type != "guideline"
                    else f"{parent + ': ' if parent else ''}{doc.title}. {text}"
                )

        by_id = {s.id: s for s in sections}
        cm_title = CM_TITLE.format(fy=fy)
        for s in sections:
            chain = []
            p = by_id.get(s.parent_id or "")
            while p is not None:
                chain.append(p.title)
                p = by_id.get(p.parent_id or "")
            top = s.id.split(".")[0] if not s.id.startswith(("Appendix", "Introduction")) else s.id
            sents = _sentences(
                ((para.page, para.text) for para in s.paragraphs), pages, hard_breaks=True
            )
            add(
                _Doc(s.id, s.title, "guideline", cm_title, fy, s.level, top, s.page_start, sents),
                chain[0] if chain else "",
                " ".join(chain[1:]),
            )

        if pcs_guidelines:
            from codedesk.cms.pcs import DB_FISCAL_YEAR

            pfy = str(pcs_fiscal_year or DB_FISCAL_YEAR)
            for g in pcs_guidelines:
                sents = _sentences([(None, g.text)], None)
                add(
                    _Doc(
                        g.id, g.title, "pcs", PCS_TITLE.format(fy=pfy), pfy, 3, "pcs", None, sents
                    ),
                    g.section,
                    "ICD-10-PCS Official Guidelines procedure",
                )

        for g in team or ():
            if getattr(g, "status", "approved") != "approved":
                continue
            for part in g.sections:
                sents = _sentences([(None, _plain(part.text))], None)
                add(
                    _Doc(
                        g.id,
                        part.heading or g.title,
                        "team_guideline",
                        f"Team guideline {g.id}: {g.title}",
                        fy,
                        3,
                        "team",
                        None,
                        sents,
                        tuple(g.refines),
                        part.anchor,
                    ),
                    g.title,
                    "team guideline",
                )

        index = LexicalIndex(
            [str(i) for i in range(len(units))],
            fields,
            FIELD_WEIGHTS,
            k1=1.2,
            b=0.6,
            tokenize=str.split,
        )
        vectors = None
        if embed is not None and unit_texts:
            vectors = np.asarray(embed(unit_texts), np.float32)
        children: dict[str, list[str]] = {}
        for sec in sections:
            if sec.parent_id:
                children.setdefault(sec.parent_id, []).append(sec.id)
        for doc in docs:
            doc.pointers = tuple(_pointer_targets(doc, by_id, children))
        searcher = cls(docs, units, index, vectors, fy)
        searcher.embed = embed
        log.info(
            "guideline searcher built docs=%d units=%d dense=%s seconds=%.2f",
            len(docs),
            len(units),
            vectors is not None,
            time.perf_counter() - start,
        )
        return searcher

    # -- searching
    def _lexical(self, terms: dict[str, float]) -> np.ndarray:
        ids = [self.index.vocab[t] for t in terms if t in self.index.vocab]
        if not ids:
            return np.zeros(len(self.units), np.float32)
        w = np.asarray([terms[t] for t in terms if t in self.index.vocab], np.float32)
        return np.asarray(self.index.matrix[:, ids] @ w).ravel()

    def _per_doc(self, unit_scores: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.docs), np.float32)
        if len(self.units):
            out[self._docs_with_units] = np.maximum.reduceat(unit_scores, self._starts)
        return out

    def _score(self, question: str, use_dense: bool) -> _Scored:
        terms = question_terms(question)
        lex_u = self._lexical(terms)
        lex = self._per_doc(lex_u)
        top = float(lex.max()) if len(lex) else 0.0
        unit = lex_u / top if top > 0 else lex_u
        score = lex / top if top > 0 else lex
        q = (
            self._query_vector(question)
            if use_dense and self.vectors is not None and self.embed
            else None
        )
        cos_u = None
        if q is not None:
            cos_u = np.clip(self.vectors @ q, 0.0, 1.0)
            score = score + W_DENSE * self._per_doc(cos_u)
            unit = unit + W_DENSE * cos_u
        if W_TITLE:
            score = score + W_TITLE * self._title_cover(terms)
        score = score * self._prior * self._priors(question)
        for src, targets in self._forward:  # "See Section X": the reader is sent to X
            for t in targets:
                score[t] = max(score[t], POINTER_FORWARD * score[src])
            score[src] *= POINTER_PRIOR
        return _Scored(score, unit, terms, cos_u)

    def _query_vector(self, question: str) -> np.ndarray | None:
        try:
            q = np.asarray(self.embed([question]), np.float32)[0]  # type: ignore[misc]
        except (
            Exception
        ) as err:  # the embedder is optional: a failure costs the dense half, not the answer
            log.warning(
                "guideline search: embedding failed, lexical only error=%s", type(err).__name__
            )
            return None
        return q if q.shape == (self.vectors.shape[1],) else None  # type: ignore[union-attr]

    def _title_cover(self, terms: dict[str, float]) -> np.ndarray:
        """Per doc: the share of its own title's words (idf-weighted) that the question says."""
        out = np.zeros(len(self.docs), np.float32)
        for t, w in terms.items():
            for di in self._title_docs.get(t, ()):
                out[di] += min(w, 1.0) * self._idf(t)
        return out / self._title_mass

    def _priors(self, question: str) -> np.ndarray:
        question = expand_shorthand(question)
        prior = np.ones(len(self.docs), np.float32)
        setting = setting_of(question)
        inpatient_only = np.isin(self._top, ["II", "III", "Appendix I"])
        outpatient = self._top == "IV"
        if setting == "outpatient":
            prior[outpatient] *= OUTPATIENT_BOOST
            prior[inpatient_only] *= OTHER_SETTING
        elif setting == "inpatient":
            prior[inpatient_only] *= INPATIENT_BOOST
            prior[outpatient] *= OTHER_SETTING
        # Chapter 15 codes have sequencing priority on a maternal record; chapter 16 is the newborn's.
        prior[self._chapter == "15"] *= (
            POPULATION_BOOST if _PREGNANCY.search(question) else POPULATION_PRIOR
        )
        prior[self._chapter == "16"] *= (
            POPULATION_BOOST if _NEWBORN.search(question) else POPULATION_PRIOR
        )
        proc = procedure_intent(question)
        prior[self._is_pcs] *= (
            0.35 + 0.85 * proc if proc > 0 else 0.0
        )  # PCS rules never answer a diagnosis question
        prior[~self._is_pcs & ~self._is_team] *= 1.0 - 0.25 * proc
        return prior

    def search(self, question: str, k: int = 3, *, use_dense: bool = True) -> list[GuidelineHit]:
        """The k best official sections (ICD-10-CM, and ICD-10-PCS when the question is about a
        procedure), best first; a team guideline that refines a returned section follows it."""
        if not question or not question.strip() or not self.docs:
            return []
        scored = self._score(question, use_dense)
        official = np.where(self._is_team, 0.0, scored.doc)
        order = np.argsort(-official, kind="stable")
        hits: list[GuidelineHit] = []
        for di in order[:k]:
            if official[di] <= 0:
                break
            hits.append(self._hit(int(di), scored))
        return self._with_team(hits, scored)

    def ranked(
        self, question: str, k: int = 10, *, use_dense: bool = True
    ) -> list[tuple[str, str, float]]:
        """(source type, section, ranking score) of the k best sections, for evaluation and debugging."""
        scored = self._score(question, use_dense)
        order = np.argsort(-scored.doc, kind="stable")[:k]
        return [
            (self.docs[i].source_type, self.docs[i].section, round(float(scored.doc[i]), 4))
            for i in order
            if scored.doc[i] > 0
        ]

    def _with_team(self, hits: list[GuidelineHit], scored: _Scored) -> list[GuidelineHit]:
        score = scored.doc
        if not self._is_team.any() or not hits:
            return hits
        best_official = max(h.score for h in hits)
        out: list[GuidelineHit] = []
        used: set[str] = set()
        for hit in hits:
            out.append(hit)
            if hit.source_type != "guideline":
                continue
            for di in np.argsort(-np.where(self._is_team, score, -1.0), kind="stable")[:6]:
                doc = self.docs[int(di)]
                if score[di] <= 0 or doc.section in used:
                    continue
                refines = any(
                    hit.section == r
                    or hit.section.startswith(r + ".")
                    or r.startswith(hit.section + ".")
                    for r in doc.refines
                )
                if refines and score[di] >= 0.35 * float(score.max()):
                    team_hit = self._hit(int(di), scored)
                    if team_hit.score >= 0.3 * best_official:
                        out.append(team_hit)
                        used.add(doc.section)
                    break
        return out

    def _hit(self, di: int, scored: _Scored) -> GuidelineHit:
        doc, terms = self.docs[di], scored.terms
        uis = np.flatnonzero(self._unit_doc == di)
        best_u = int(uis[np.argmax(scored.unit[uis])])
        _, a, b = self.units[best_u]
        si = self._quote_sentence(doc, terms, a, b)
        sent = doc.sentences[si]
        quote = clip_quote(sent.text)
        text = sent.text
        if si + 1 < len(doc.sentences) and len(text) < 240:
            nxt = doc.sentences[si + 1].text
            if len(text) + len(nxt) < 520:
                text = f"{text} {nxt}"
        score = self._coverage(doc, best_u, terms)
        if (
            scored.cos is not None
        ):  # the cosine of a relevant passage is ~0.5-0.7, of an unrelated one ~0.1-0.3
            score = 0.5 * score + 0.5 * float(np.clip((scored.cos[best_u] - 0.25) / 0.45, 0.0, 1.0))
        return GuidelineHit(
            doc.section,
            doc.title,
            sent.page if doc.page is not None else None,
            quote,
            round(score, 3),
            doc.source_type,
            doc.fiscal_year,
            doc.source_title,
            text,
            doc.refines,
        )

    def _idf(self, term: str) -> float:
        i = self.index.vocab.get(term)
        return float(self.index.idf[i]) if i is not None else float(self.index.idf.max(initial=1.0))

    def _quote_sentence(self, doc: _Doc, terms: dict[str, float], a: int, b: int) -> int:
        """The sentence that best matches the question: weighted idf of shared terms, a little for rule
        wording, a little less for cross-references; the best window's sentences win ties."""
        best, best_score = a, -1.0
        for i, sent in enumerate(doc.sentences):
            shared = sum(w * self._idf(t) for t, w in terms.items() if t in sent.terms)
            s = shared / (1.0 + 0.15 * max(0, len(sent.terms) - 25) ** 0.5)
            low = sent.text.lower()
            if _RULE_WORDS.search(low):
                s += 0.6
            if low.startswith(("see ", "refer to")) or len(sent.text) < 25:
                s -= 1.5
            elif len(sent.text) < 100 and not re.search(r"[.:;!?)”\"]$", sent.text):
                s -= 1.0  # a heading or a list entry, not a rule
            if a <= i < b:
                s += 0.3
            if s > best_score:
                best, best_score = i, s
        return best

    def _coverage(self, doc: _Doc, ui: int, terms: dict[str, float]) -> float:
        """Share of the question's term weight (idf) found in the hit's window, title or ancestors."""
        _, a, b = self.units[ui]
        have = set().union(*(s.terms for s in doc.sentences[a:b])) | set(doc_terms(doc.title))
        total = got = 0.0
        for t, w in terms.items():
            x = w * self._idf(t)
            total += x
            if t in have:
                got += x
        return got / total if total else 0.0

    def sections(self) -> list[str]:
        return [d.section for d in self.docs if d.source_type == "guideline"]


_RULE_WORDS = re.compile(
    r"\b(should|must|do not|does not|is not|are not|may|assign|code|sequence[d]?|report(ed)?|"
    r"only|never|always|first|principal|first-listed|as if)\b"
)


_EMPTY = re.compile(r"^(GUIDELINE HAS BEEN DELETED|Reserved for future guideline expansion)", re.I)
_POINTER = re.compile(r"^(See|Refer to)\b", re.I)
_REF = re.compile(
    r"\b[Ss]ection\s+([IVX]+(?:\.\s?(?:\d{1,2}|[a-z]{1,4}|[A-Z])(?![A-Za-z0-9]))*)\.?,?\s*(.*)$"
)


def _pointer_targets(
    doc: _Doc, by_id: Mapping[str, Any], children: Mapping[str, list[str]]
) -> list[str]:
    """For a section whose whole text is "See Section X. Title": the section(s) it points to."""
    if doc.source_type != "guideline" or not all(_POINTER.match(x.text) for x in doc.sentences):
        return []
    out: list[str] = []
    for sent in doc.sentences:
        m = _REF.search(sent.text)
        if not m:
            continue
        sid = re.sub(r"\s+", "", m.group(1)).rstrip(".")
        while sid and sid not in by_id:
            sid = sid.rsplit(".", 1)[0] if "." in sid else ""
        if not sid:
            continue
        rest = re.sub(r"^(?:[a-z0-9]{1,3}[.)]\s+)", "", m.group(2).strip()).rstrip(".")
        rest = re.sub(
            r"^for (information on |additional information regarding )?", "", rest, flags=re.I
        )
        target = sid
        for hint in (rest, rest.split(",")[-1].strip()):  # "Chapter title, Subsection title"
            key = _norm(hint)
            found = None
            stack = list(children.get(sid, ()))
            while key and stack and found is None:
                cid = stack.pop(0)
                title = _norm(by_id[cid].title)
                if title and (title.startswith(key[:30]) or key.startswith(title[:30])):
                    found = cid
                stack.extend(children.get(cid, ()))
            if found:
                target = found
                break
        if target != doc.section and target not in out:
            out.append(target)
    return out


def _base_prior(doc: _Doc) -> float:
    if doc.top == "Introduction":
        return 0.7
    if doc.source_type == "guideline":
        return 1.0 + 0.02 * min(doc.level, 6)  # the more specific of two equal sections wins
    return 1.0


def _windows(lengths: list[int], size: int) -> list[tuple[int, int]]:
    """Half-overlapping windows of consecutive sentences of about `size` characters."""
    n = len(lengths)
    if n == 0:
        return []
    out: list[tuple[int, int]] = []
    a = 0
    while True:
        b, total = a, 0
        while b < n and (b == a or total + lengths[b] <= size):
            total += lengths[b] + 1
            b += 1
        out.append((a, b))
        if b >= n:
            return out
        nxt = a + max(1, (b - a) // 2)
        a = nxt if nxt > a else b


# --------------------------------------------------------------------------- loading with a cache


def pdf_page_text(path: str | Path) -> dict[int, str]:
    """{printed page number: page text} of the guidelines PDF (pages with a "Page N of M" footer)."""
    import pymupdf

    out: dict[int, str] = {}
    with pymupdf.open(str(path)) as doc:
        for page in doc:
            text = page.get_text("text")
            m = re.search(r"Page\s+(\d+)\s+of\s+\d+", text)
            if m:
                out[int(m.group(1))] = text
    return out


def _embed_name(embed: Embed | None) -> str:
    if embed is None:
        return "none"
    owner = getattr(embed, "__self__", None)
    return str(
        getattr(owner, "model_name", None) or getattr(embed, "__qualname__", type(embed).__name__)
    )


def _extras_key(pcs_guidelines: Sequence[Any] | None, team: Sequence[Any] | None) -> str:
    h = hashlib.sha1()
    for g in pcs_guidelines or ():
        h.update(f"{g.id}|{g.title}|{g.text}".encode())
    for g in team or ():
        h.update(f"{g.id}|{g.status}|{g.effective}|{g.refines}|{g.body}".encode())
    return h.hexdigest()


# The code a cached searcher depends on (the PDF parser's too: the sections are its output).
_CODE = (
    "codedesk.retrieval.guidelines",
    "codedesk.retrieval.text",
    "codedesk.retrieval.lexical",
    "codedesk.vocabulary",
    "codedesk.cms.guidelines_pdf",
)


def load_guideline_searcher(
    pdf_path: str | Path,
    fiscal_year: str,
    cache_dir: str | Path | None,
    embed: Embed | None = None,
    *,
    pcs_guidelines: Sequence[Any] | None = None,
    pcs_db: str | Path | None = None,
    team: Sequence[Any] | None = None,
) -> GuidelineSearcher:
    """A searcher over the guidelines PDF, from a cache entry keyed on the PDF's path, size and mtime, the
    code that builds it, the embedder and the PCS/team guidelines given. `pcs_db`: read the ICD-10-PCS
    guidelines from this database only when the searcher is built (the entry is keyed on the file), so a
    cached start never reads the PCS data. Raises `SourceError` (from the parser) for a missing or damaged PDF."""
    pdf_path = Path(pdf_path)

    def build() -> GuidelineSearcher:
        from codedesk.cms.guidelines_pdf import (
            parse_guidelines_pdf,
        )  # PyMuPDF takes ~1 s to import: only on a miss
        from codedesk.cms.pcs import read_pcs_db

        pcs = pcs_guidelines
        if pcs is None and pcs_db is not None:
            pcs = read_pcs_db(pcs_db).guidelines
        sections = parse_guidelines_pdf(pdf_path)
        return GuidelineSearcher.build(
            sections,
            fiscal_year,
            pcs_guidelines=pcs,
            team=team,
            embed=embed,
            page_text=pdf_page_text(pdf_path),
        )

    if not pdf_path.is_file():
        return build()  # the parser says what is wrong
    code = [*_CODE, "codedesk.cms.pcs"] if pcs_db is not None else _CODE
    cache = Cache(
        cache_dir,
        f"guidelines-{fiscal_year}",
        inputs=[pdf_path, pcs_db],
        code=code,
        data=[VOCABULARY_PATH],
        extra=f"{fiscal_year}|{_embed_name(embed)}|{_extras_key(pcs_guidelines, team)}",
    )
    searcher = cache.get(build, kind=GuidelineSearcher)
    searcher.embed = embed
    return searcher


__all__ = [
    "GuidelineHit",
    "GuidelineSearcher",
    "guideline_intent",
    "load_guideline_searcher",
    "question_terms",
    "setting_of",
    "split_sentences",
]
