"""Code questions answered from the Table of Drugs and Chemicals, the Neoplasm Table and (when loaded)
the Index to External Causes or the main Alphabetic Index — the way a coder uses them.

1. Which table: `intent(question)` reads the question's words (poisoning, overdose, adverse effect,
   underdosing … ; malignant, metastatic, in situ, benign, tumor …).
2. Which row: the substance or site term path is matched word by word against the question. Every
   level of a path is a title (required words) plus its nonessential modifiers (optional words) and
   the titles of the rows that refer to it with *see* / *see also* ("Aleve — see Naproxen",
   "bowel — see Neoplasm, intestine"). A row scores the rarity-weighted question words it covers,
   minus the words of its own title the question does not say; the most specific row the words
   support wins ("Lung > upper lobe" over "Lung").
3. Which column: from the question's words, with the guideline defaults — poisoning with no intent
   stated is accidental (I.C.19.e.5.b), "undetermined" only when the record says intent cannot be
   determined; "cancer of X" is primary, "metastatic to X" is secondary at X and "metastatic from X"
   makes X the primary (I.C.2).
4. Which code: a table code that still needs characters (`C34.1-`, `C56.-`, `T39.1X1`) is completed
   through the code book — laterality, sex and type from the titles of its subcodes, the 7th
   character from the encounter words (A, initial encounter, when nothing is said, flagged as
   assumed). Nothing incomplete or absent from the book is ever returned.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import sys
import time
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from codedesk.cache import Cache, file_stamp
from codedesk.cms.codebook import CodeBook, normalize_code
from codedesk.cms.index_xml import IndexFile, IndexTerm, parse_index_xml
from codedesk.errors import SourceError
from codedesk.retrieval.codesearch import seventh_default, trimester_terms
from codedesk.retrieval.schema import Citation, CodeItem
from codedesk.retrieval.text import FREE_STEMS, stem, tokens
from codedesk.retrieval.text import words as spelt_out
from codedesk.vocabulary import VOCABULARY_PATH

log = logging.getLogger(__name__)

TABLE_TITLES = {
    "drug_table": "ICD-10-CM Table of Drugs and Chemicals",
    "neoplasm_table": "ICD-10-CM Neoplasm Table",
    "external_cause_index": "ICD-10-CM Index to External Causes",
    "index": "ICD-10-CM Alphabetic Index",
}
SOURCE_TYPES = {
    "drug_table": "drug_table",
    "neoplasm_table": "neoplasm_table",
    "external_cause_index": "index",
    "index": "index",
}

# ---------------------------------------------------------------------------------------- scoring
ALPHA = 0.5  # penalty per unit of idf for a word of the row's own title the question does not say
BETA = 0.25  # the same for the titles of the row's ancestors (the path a coder walks through)
ANCHOR_MISS = (
    0.6  # cover factor when the main term (neoplasm: the site) has no word of the question
)
CUE_WEIGHT = (
    0.3  # words that choose the table or the column (poisoning, malignant …) barely choose the row
)
MAX_SCORED = 250  # rows fully scored per question (the best covered by the question's words)
SIDE_WEIGHT = (
    0.5  # left / right / bilateral: mostly for completing codes, a little for rows ("colon, left")
)

MANIFESTATION_WEIGHT = 0.3  # words naming the condition a substance caused ("rash from …")
_META = re.compile(
    r"\b(?:what|which)(?: is|'s| are)? (?:the )?(?:correct |right |proper |icd[- ]?10(?:[- ]cm)? )*"
    r"(?:drug |table )?codes?\b|\b(?:drug|table|poisoning|neoplasm) codes?\b|\bcodes? (?:for|to use)\b|"
    r"\bhow (?:do|should) (?:i|we) code\b|\b(?:initial|subsequent) encounters?\b|"
    r"\bexternal causes?(?! status)(?: codes?)?(?: for)?\b"
)
_CAUSE = re.compile(
    r"\b(?:from|due to|caused by|induced by|secondary to|because of|after (?:taking|ingesting|"
    r"using|receiving|starting))\b|-induced\b|\binduced\b"
)
_VEHICLE = re.compile(
    r"\b(?:in|into|with) (?:her|his|their|the|a|an|my|some) (?:\w+ )?(?:drink|coffee|tea|food|juice|"
    r"soda|water|beer|wine|meal|milk|cup|glass|smoothie|cereal|formula)\b"
)
_RESISTANT = re.compile(r"\b([a-z]+)[- ]resistan(?:t|ce)\b")
_DRUG_CUE = re.compile(
    r"poison|overdos|toxic|intoxicat|underdos|adverse|ingest|swallow|exposure|exposed|inhal|"
    r"\bod\b|drank|drink|\bate\b|\beat|\btook\b|\btake|chew|sniff|huff|inject|snort|smok|"
    r"got into|sting|stung|bit(?:ten|e)\b"
)

# Words that say which table / column / encounter, not which substance or site.
_CUE_WORDS = """poisoning poison poisoned overdose overdosed accidental accident accidentally unintentional
intentional intent self harm suicide assault undetermined adverse effect effects underdosing underdosed toxic
toxicity drug drugs medication medicine medicinal substance chemical dose doses dosage prescribed taken taking took
malignant malignancy neoplasm neoplastic cancer carcinoma primary secondary metastatic metastasis metastases mets
benign situ uncertain behavior behaviour unspecified tumor tumour growth lesion initial encounter subsequent sequela
visit code codes table tablet tablets pill pills capsule capsules caplet caplets patch syrup injection
adenocarcinoma sarcoma neoplasia carcinomatosis ingestion ingested ingest swallowed inhaled inhalation exposure
exposed contact""".split()
CUE_STEMS = frozenset(t for w in _CUE_WORDS for t in tokens(w))
# Words of a neoplasm question that name neither a site nor a behaviour.
_FILLER_WORDS = """stage grade invasive infiltrating differentiated poorly moderately well high low disease diagnosed
diagnosis known documented record chart physician provider new recurrent recurrence history status patient year old
male female man woman""".split()
_FILLER_STEMS = frozenset(t for w in _FILLER_WORDS for t in tokens(w))
SIDE_STEMS = frozenset(t for w in ("left", "right", "bilateral") for t in tokens(w))
_EXTRA_FREE = frozenset(
    t
    for w in ("any", "except", "all", "nec", "nos", "classifiable", "specified")
    for t in tokens(w)
)
FREE = FREE_STEMS | _EXTRA_FREE

# ------------------------------------------------------------------------------- substance names
TABLES_DATA_PATH = Path(__file__).with_name("data") / "tables.toml"


Rewrites = list[tuple[re.Pattern[str], str]]


ChildDefault = tuple[frozenset[str], str, str]


def _load_table_words(
    path: Path = TABLES_DATA_PATH,
) -> tuple[
    dict[str, str], dict[str, str], Rewrites, Rewrites, dict[str, str], tuple[ChildDefault, ...]
]:
    """`data/tables.toml`, read once, every entry with its source: (brand or street name -> the generic or
    class words of a Table of Drugs row, generic newer than the table -> its class row, the
    [[drug_phrase]] rewrites, the [[neoplasm_phrase]] rewrites, in file order, generic the table has no
    class row for -> the Index's class words, the [[child_default]] entries stemmed as titles are: the words
    that tell the subcodes apart, the word said, the word a guideline takes)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for kind in (
        "brand",
        "class_row",
        "drug_phrase",
        "neoplasm_phrase",
        "index_class",
        "child_default",
    ):
        for entry in data.get(kind, ()):
            if not entry.get("source"):
                raise SourceError(path, f"[[{kind}]] entry without a source: {entry}")

    def rewrites(kind: str) -> Rewrites:
        return [(re.compile(e["pattern"]), e["replace"]) for e in data.get(kind, ())]

    return (
        {e["name"]: e["means"] for e in data.get("brand", ())},
        {name: e["row"] for e in data.get("class_row", ()) for name in e["names"]},
        rewrites("drug_phrase"),
        rewrites("neoplasm_phrase"),
        {name: e["index_class"] for e in data.get("index_class", ()) for name in e["names"]},
        tuple(
            (frozenset(t for w in e["words"] for t in tokens(w)), stem(e["when"]), stem(e["takes"]))
            for e in data.get("child_default", ())
        ),
    )


# Brand names, class rows of newer generics, everyday words for what the Table of Drugs (and the External
# Cause Index) calls something else, the Neoplasm Table's words for sides, sexes and shorthand, and the subcode a
# guideline chooses when the question does not say which (I.C.6.a: the dominant side).
BRANDS, DRUG_CLASSES, _TABLE_PHRASES, _NEO_PHRASES, INDEX_CLASSES, CHILD_DEFAULTS = (
    _load_table_words()
)
HINT_BONUS = (
    1.0  # a class row named through DRUG_CLASSES scores as the rarest word of the table, plus this
)
# ------------------------------------------------------------------------------------ the columns
# Semantic roles -> a regex over the file's own column headings (the headings are not hard-coded).
_DRUG_ROLES = {
    "accidental": r"accidental|unintentional",
    "self_harm": r"self[- ]?harm",
    "assault": r"assault",
    "undetermined": r"undetermined",
    "adverse": r"adverse",
    "underdosing": r"underdos",
}
_NEO_ROLES = {
    "primary": r"primary",
    "secondary": r"secondary",
    "in_situ": r"in situ",
    "benign": r"benign",
    "uncertain": r"uncertain",
    "unspecified": r"unspecified",
}

_SELF = r"(?:her|him|them|my|your|our)sel(?:f|ves)"
_RE_UNDERDOSING = re.compile(
    r"underdos|took (?:less|fewer|half)|taking (?:less|fewer|half)|skip(?:ped|ping|s)?\b|miss(?:ed|ing) "
    r"(?:\w+ ){0,3}(?:doses?|pills?|medications?|meds)|stopp?(?:ed|ing)? (?:taking|using|her|his|the|their) "
    r"|ran out of|run out of|running out of|not taking|wasn'?t taking|didn'?t take|did not take|hasn'?t been "
    r"taking|has not been taking|noncomplian|non-complian|stretch(?:ed|ing) (?:out )?(?:her|his|the|their) "
    r"|ration(?:ed|ing)|(?:could ?n[o']t|cannot|can'?t) afford|forg(?:ot|etting) (?:to take|her|his|the)|"
    r"discontinued (?:\w+ ){0,3}(?:on (?:her|his|their) own|without)|"
    r"cut(?:s|ting)? (?:\w+ ){0,2}(?:pills?|doses?|tablets?) in half|"
    r"reduced (?:\w+ ){0,2}dose (?:on (?:her|his|their) own|without)|less than (?:was )?prescribed|"
    r"lower dose than prescribed|inadequate dose|insufficient dose"
)
_RE_ASSAULT = re.compile(
    r"assault|homicid|attempted murder|murder|poisoned by (?!accident|mistake)|\bdrugged\b|tampered with|"
    r"(?:given|gave|put|administered|added|injected|mixed)\b.{0,40}\bby (?:a |an |her |his |"
    r"their |the )?(?:partner|husband|wife|boyfriend|girlfriend|spouse|parent|mother|father|stepfather|"
    r"stepmother|caregiver|another|someone|stranger|assailant|attacker|perpetrator|relative|sibling|brother|"
    r"sister|roommate|coworker|co-worker|neighbor|friend|ex)|(?:partner|husband|wife|boyfriend|girlfriend|"
    r"spouse|caregiver|stranger|assailant|attacker|someone|somebody|another person)\b.{0,30}\b(?:poison|drugg"
    r"|spik|slipp|put|gave|added|laced|tried to)|by another person|by someone else|with intent to (?:harm|kill)"
    r" (?:her|him|them|the)\b|maltreat"
)
# Something hidden in a drink or food: assault, unless the patient did it to harm themself.
_RE_SLIPPED_IN = re.compile(
    r"(?:spiked|laced|slipped|put|added|mixed|dissolved|hid|hidden) (?:\w+ ){0,4}(?:in|into) "
    r"(?:her|his|their|the|a|an) (?:\w+ )?(?:drink|coffee|tea|food|juice|soda|water|beer|"
    r"wine|meal|milk|cup|glass|smoothie)"
)
_RE_SELF_HARM = re.compile(
    r"self[- ]?harm|self[- ]?inflicted|suicid|intentional(?:ly)?\b|on purpose|deliberate(?:ly)?\b|"
    rf"(?:harm|hurt|kill|injure|end) {_SELF}|to die\b|end (?:her|his|their|my) life|wanted to die|"
    r"self[- ]?poison"
)
_RE_INTENT_UNSURE = re.compile(
    r"(?:unclear|unknown|not (?:known|clear|sure|documented|stated)|uncertain|undocumented|no documentation|"
    r"unsure|does not say|doesn'?t say|did not say|didn'?t say)\W+(?:\w+\W+){0,2}(?:whether|if)\W+(?:\w+\W+){0,3}?"
    r"(?:intentional(?:ly)?|accidental(?:ly)?|on purpose|deliberate(?:ly)?|self[- ]?harm|suicid\w*)"
    r"(?:\W+or\W+(?:not|\w+))?|intent (?:is |was )?(?:unknown|unclear|not (?:known|documented|stated|clear))"
)
_RE_UNDETERMINED = re.compile(
    r"undetermined|(?:cannot|can ?not|can'?t|could not|couldn'?t|unable to|not able to)\s+(?:be\s+)?"
    r"(?:determine|determined|establish|established|ascertain|tell)|(?:not|never) (?:be )?determin(?:ed|able)|"
    r"indeterminate intent|intent (?:is |was )?indeterminate"
)
_RE_ERROR = re.compile(
    r"overdos|\bod\b|\bo\.d\.|too (?:much|many)|(?:wrong|incorrect) (?:drug|medication|medicine|dose|dosage|pill|"
    r"patient|strength)|in error|by mistake|medication error|dosing error|mistaken(?:ly)?|twice (?:the|his|her|"
    r"their|as)|double(?:d)? (?:the |his |her |their |up|dose)|extra (?:dose|pills?|tablets?)|more than "
    r"(?:prescribed|directed|the prescribed)|excess(?:ive)? (?:dose|amount|quantity)|ingest|swallow|drank|\bate\b|"
    r"got into|exposed|exposure|inhal|poison|intoxicat|toxic effect|recreational|illicit|street drug|abus|misus"
    r"|(?:taken|took|given|gave|administered) (?:\w+ ){0,3}(?:that|which) (?:was|were) (?:not|prescribed for) "
    r"|(?:someone else|another person|(?:her|his) (?:husband|wife|mother|father|sister|brother|roommate|"
    r"friend)'?s) (?:prescription|pills?|medication|medicine)|not prescribed"
)
_RE_ADVERSE = re.compile(
    r"adverse|side[- ]?effect|as (?:prescribed|directed|ordered|instructed)|properly (?:administered|taken|"
    r"prescribed|given)|correctly (?:administered|taken|prescribed|given)|correct (?:drug|dose|dosage|medication"
    r"|medicine)|prescribed (?:dose|dosage|amount|regimen)|(?:dose|dosage) (?:that was |as )?prescribed|"
    r"therapeutic (?:dose|use|level|range)|(?:taken|taking|takes|took|given|administered) (?:\w+ ){0,3}(?:as|per) "
    r"(?:prescribed|directed|ordered|instructed)|reaction (?:to|from)|allerg(?:y|ic)|hypersensitiv|intoleran|"
    r"(?:\w+)[- ]induced|induced by|caused by (?:her|his|their|the)? ?(?:\w+ )?(?:medication|medicine|drug|"
    r"therapy|treatment)|due to (?:her|his|their|the)? ?(?:prescribed|medication|therapy)|anaphyla|"
    r"idiosyncratic|toxicity|(?:proper|correct|appropriate|therapeutic) use|"
    r"(?:taken|took|takes|given|administered|used|using|taking) (?:\w+ ){0,2}(?:correctly|"
    r"properly|appropriately|as intended)|(?:dose|dosage|dosing) (?:was |is |were )?(?:correct|appropriate|"
    r"therapeutic|right|proper)|correctly (?:dosed|taken)|(?:at|on) (?:a |the |her |his |their )?(?:stable |usual |"
    r"normal |regular |standard |therapeutic |maintenance |home |prescribed |same )+(?:dose|dosage|level|regimen)"
)


def condition_and_cause(text: str) -> tuple[str, str] | None:
    """The words that name the condition and those that name its cause, when the question links them ("GI bleed
    from warfarin"; "chemotherapy-induced nausea": a suffix names the cause before it; "drug induced lupus due
    to hydralazine": the phrase that names it), else None."""
    marks = list(_CAUSE.finditer(text))
    m = next((c for c in marks if not c.group(0).endswith("induced")), None) or next(
        iter(marks), None
    )
    if m is None:
        return None
    before, after = text[: m.start()], text[m.end() :]
    return (after, before) if m.group(0).endswith("induced") else (before, after)


def _explicit_adverse(q: str) -> bool:
    """The question says the drug was taken as meant (I.C.19.e.5.a), not only "toxicity" or an allergy."""
    return any(
        not re.fullmatch(r"toxicity|allerg(?:y|ic)", m.group(0)) for m in _RE_ADVERSE.finditer(q)
    )


_RE_ACCIDENTAL = re.compile(r"accident|unintentional|inadvertent|by mistake|in error|mistaken")
# Words around a substance that make it a drug-table question (with a substance named).
_RE_DRUG_CONTEXT = re.compile(
    r"\bingest|swallow|drank|\bate\b|\btook\b|taking|\btakes?\b|exposure|exposed|inhal|reaction|allerg|"
    r"accident|got into|get into|getting into|chewed|\bgiven\b|\bgave\b|administered|induced|due to|"
    r"secondary to|caused by|"
    r"\bfrom\b|after (?:taking|starting|receiving)|\bon (?:her|his|their)? ?\w+ (?:therapy|treatment)|"
    r"as prescribed|prescribed|as directed|correct(?:ly)?|therapeutic|dose|doses|dosage|skipped|missed|stopped|"
    r"ran out|not taking|wrong|mistake|error|sting|stung|bite|bitten|venom|homicid|assault|suicid|self[- ]harm|"
    r"intentional|undetermined|toxic|drug|medication|pills?|tablets?"
)
_RE_TOXIC_CONTEXT = re.compile(
    r"ingest|swallow|drank|\bate\b|exposure|exposed|inhal|accident|got into|sting|stung|"
    r"bite|bitten|venom|homicid|assault|suicid|self[- ]harm|intentional|fumes|"
    r"put .{0,20} in (?:her|his|their) (?:drink|food|coffee|tea)"
)

# A disorder a psychoactive substance brought on is coded in F10-F19 ("cocaine-induced psychotic disorder",
# "cannabis-induced anxiety disorder"; Guidelines I.C.5.b), not as the adverse effect of a drug taken as prescribed.
_RE_SUBSTANCE_INDUCED = re.compile(
    r"(?:alcohol|cannabis|marijuana|cocaine|hallucinogen|inhalant)[- ]induced|"
    r"(?:due to|from) (?:alcohol|cannabis|marijuana|cocaine|hallucinogens?|inhalants?)\b"
)
# Poison ivy is dermatitis, food poisoning an infection, alcohol intoxication a use disorder code.
_RE_NOT_DRUG = re.compile(
    r"poison (?:ivy|oak|sumac)|food poisoning|(?:bacterial|staphylococcal|salmonella) "
    r"(?:food )?poisoning|(?:alcohol|ethanol|opioid|cannabis|cocaine|stimulant) "
    r"(?:intoxication|dependence|abuse|use disorder|use\b|withdrawal)|intoxicated|drunk|"
    r"long[- ]term\b|history of|allergy status|screening|resistan(?:t|ce)\b"
)

# Questions about rules and sequencing: a table code helps, but the guideline is the answer.
_RE_RULE_QUESTION = re.compile(
    r"principal (?:diagnosis|dx)|first[- ]listed|sequenc|(?:coded|listed|goes|go|come|"
    r"comes|be) first\b|can (?:i|we|you) (?:code|assign|use|report)|should (?:i|we) "
    r"(?:code|assign|use|report)|is it (?:coded|correct)|guideline"
)

# encounter (7th character)
_RE_SEQUELA = re.compile(
    r"sequela|late effects?|residual (?:effect|condition|deficit)|as a result of (?:a |an |"
    r"the )?(?:past|prior|previous|old|remote)"
)
_RE_SUBSEQUENT = re.compile(
    r"subsequent|follow[- ]?up|f/u\b|recheck|routine (?:healing|care|visit)|recovery (?:phase|period)|"
    r"(?:active )?treatment (?:is |was |has been |had been )?(?:complete[d]?|finished|over|done|concluded)|"
    r"(?:completed|finished|completion of|after) (?:the |his |her |their )?active treatment|healing phase|"
    r"aftercare|medication (?:adjustment|management) visit"
)
_RE_INITIAL = re.compile(
    r"\binitial\b|active treatment|emergency|\bed\b|\ber\b|admitted|admission|first "
    r"(?:visit|encounter|time seen)|presents?\b|presented|brought in|ambulance"
)

# neoplasm behaviour words
_RE_NEO_CORE = re.compile(
    r"malignan|cancer|carcinoma|\bca\b|sarcoma|neoplas|tumou?r|metasta|\bmets\b|in[- ]situ|adenoma|"
    r"secondar(?:y|ies) (?:malignan|neoplasm|cancer|carcinoma|tumou?r|deposit|lesion)|\bcis\b|"
    r"(?:new )?growth|oncolog|chemotherap|blastoma"
)
_RE_HISTOLOGY_OWN_CODES = re.compile(
    r"melanoma|lymphoma|leuka?emia|myeloma|kaposi|carcinoid|neuroendocrine|merkel|mesothelioma|hodgkin|"
    r"plasmacytoma|myelodysplas|polycythemia|lipoma|hemangioma|haemangioma|nev(?:us|i)\b|fibroid|leiomyoma|"
    r"gist\b|gastrointestinal stromal"
)
_RE_NOT_NEOPLASM = re.compile(
    r"history of|h/o|hx of|personal history|family history|screening|rule out|r/o|benign prostatic|benign "
    r"(?:essential )?hypertension|benign paroxysmal|benign positional|benign (?:familial )?tremor|"
    r"benign (?:intracranial )?hypertension|pseudotumor|tumor lysis|tumor necrosis|(?:anemia|anaemia|pain|"
    r"cachexia|fatigue|fever|hypercalcemia) (?:in|due to|of|from|related to|associated with) (?:\w+ )?"
    r"(?:neoplastic|neoplasm|malignan|cancer|tumou?r|chemotherapy)|neoplastic disease|(?:neoplasm|cancer|"
    r"tumor)[- ]related pain|chemotherapy[- ]induced|no evidence of (?:disease|recurrence|malignancy|cancer)|"
    r"(?:excised|resected|removed|eradicated|treated) (?:\w+ ){0,3}(?:years?|months?) ago|in remission"
)
_RE_IN_SITU = re.compile(
    r"in[- ]situ|\bcis\b|\bdcis\b|\blcis\b|\b(?:cin|vin|vain|ain|pin) ?(?:iii|3)\b|"
    r"intraepithelial neoplasia,? (?:grade )?(?:iii|3)"
)
_RE_UNCERTAIN = re.compile(
    r"uncertain (?:behavio|malignan|potential|nature)|behavio\w* (?:is |was )?uncertain|"
    r"borderline (?:malignan|tumou?r|neoplasm|lesion)|low malignant potential|"
    r"uncertain malignant"
)
_RE_UNSPEC_BEHAVIOR = re.compile(
    r"unspecified behavio|behavio\w* (?:is |was )?(?:unspecified|unknown|undetermined|uncertain whether)|"
    r"behavio\w* (?:is |was |has |had )?(?:not|never) (?:been )?(?:specified|documented|stated|known|determined|"
    r"given|recorded)|(?:unknown|undetermined) behavio|not specified as (?:benign|malignant)"
    r"|(?:benign|malignant) or (?:benign|malignant)|(?:not|without) (?:\w+ ){0,2}(?:whether|if) (?:it is |it's )?"
    r"(?:benign|malignant)|no (?:documentation|mention) of behavio"
)
_RE_BENIGN = re.compile(
    r"\bbenign\b|adenoma\b|non[- ]?cancerous|non[- ]?malignant|not malignant|\bfibroma\b|"
    r"\bpapilloma\b"
)
_RE_MALIGNANT = re.compile(
    r"malignan|cancer|carcinoma|\bca\b|sarcoma|adenocarcinoma|\bprimary\b|blastoma"
)
_RE_SECONDARY = re.compile(
    r"metasta\w*|\bmets\b|secondar(?:y|ies)\b|\bspread\w*|deposits?\b|seeding"
)
_RE_UNKNOWN_PRIMARY = re.compile(
    r"unknown primary|primary (?:site )?(?:is |was )?(?:unknown|not (?:known|found|"
    r"identified|determined))|(?:occult|undetermined|unidentified) primary"
)


# ---------------------------------------------------------------------------------------- records
@dataclass(slots=True)
class _Level:
    alts: tuple[
        frozenset[str], ...
    ]  # title words: the own title, then titles of rows referring here
    opt: frozenset[str]  # nonessential modifiers: welcome, never required
    variants: tuple[
        frozenset[str], ...
    ] = ()  # comma parts of the title: "Kerosene, kerosine" -> each
    req: tuple[
        frozenset[str], ...
    ] = ()  # per way of saying the level, the words a question should say
    req_idf: tuple[float, ...] = ()  # their summed rarity
    n_alias: int = 0  # the last n_alias entries of `req` come from cross-references


@dataclass(slots=True)
class _Row:
    ordinal: int
    levels: tuple[_Level, ...]  # anchor (main term; neoplasm: the site) down to this term
    display: str  # "Lung > upper lobe"
    cells: dict[str, str]  # column key -> code as printed
    codes: tuple[str, ...]  # index files: `<code>` values
    words: frozenset[str]
    parent: int | None  # row id of the enclosing term (when it is a row)
    children: tuple[int, ...] = ()


@dataclass(slots=True)
class _Table:
    kind: str
    version: str
    columns: dict[str, str]  # key -> heading (codes columns only)
    roles: dict[str, str]  # semantic role -> column key
    rows: list[_Row]
    postings: dict[str, tuple[int, ...]]  # word -> rows with the word anywhere on their path
    idf: dict[str, float]
    root: int | None = None  # neoplasm: the "Neoplasm, neoplastic" row (no site named)
    leaf_postings: dict[str, tuple[int, ...]] = field(
        default_factory=dict
    )  # word -> rows whose own level has it

    @property
    def source_type(self) -> str:
        return SOURCE_TYPES.get(self.kind, "index")

    @property
    def title(self) -> str:
        return TABLE_TITLES.get(self.kind, "ICD-10-CM Index")


@dataclass(slots=True)
class TableHit:
    """One code from a table row and column, completed to a reportable code through the code book."""

    code: str  # complete and reportable: T39.1X1A, C34.12
    table_code: str  # as printed in the table: T39.1X1, C34.1-
    column: str  # the column heading as printed ("Poisoning Accidental (unintentional)"); "" for index terms
    term: str  # the term path: "Acetaminophen", "Lung > upper lobe"
    source_type: str  # drug_table | neoplasm_table | index
    score: float
    seventh_assumed: bool = False
    column_key: str = ""
    role: str = ""  # accidental, self_harm, … / primary, secondary, … / index
    table_title: str = ""
    table_year: str = ""
    assumptions: list[str] = field(
        default_factory=list
    )  # what was chosen without the question saying so

    def item(self, book: CodeBook) -> CodeItem:
        info = book.lookup(self.code)
        where = f"{self.table_title or TABLE_TITLES.get(self.source_type, 'index')}: {self.term}"
        if self.column:
            where += f", column “{self.column}” ({self.table_code})"
        elif self.table_code:
            where += f" ({self.table_code})"
        note = "; ".join([where, *self.assumptions])
        return CodeItem(
            code=info.code,
            description=info.title or self.term,
            billable=info.reportable,
            needs_seventh=info.needs_seventh,
            note=note,
        )

    def citation(self, fiscal_year: str | None = None) -> Citation:
        fy = str(fiscal_year or self.table_year or "")
        title = self.table_title or TABLE_TITLES.get(self.source_type, "ICD-10-CM Index")
        quote = (
            f"{self.term} — {self.column}: {self.table_code}"
            if self.column
            else f"{self.term} {self.table_code}"
        )
        return Citation(
            source_type=self.source_type,
            title=f"{title} FY{fy}" if fy else title,
            section=self.column or None,
            code=self.table_code,
            fiscal_year=fy or None,
            quote=quote,
        )


@dataclass(slots=True)
class _Query:
    weights: dict[str, float]
    words: list[str]  # the question's tokens, in order (for completing codes)


# --------------------------------------------------------------------------------------- building
def _level_tokens(text: str) -> frozenset[str]:
    return frozenset(
        sys.intern(t) for t in tokens(text)
    )  # interned: one copy per word in the pickle


def _strip_nec(title: str) -> str:
    return re.sub(r"\s+(NEC|NOS)$", "", title.strip(), flags=re.I).strip(" ,")


_Names = dict[int | None, dict[str, list[tuple[str, int]]]]


def _names(terms: list[IndexTerm]) -> _Names:
    """parent -> first word -> [(a name the child is referred to by, child)], longest names first."""
    out: _Names = {}
    for t in terms:
        title = " ".join(_strip_nec(t.title).lower().split())
        for cand in {title, title.split(",")[0].strip()}:
            if cand:
                first = re.split(r"[ ,]", cand, maxsplit=1)[0]
                out.setdefault(t.parent, {}).setdefault(first, []).append((cand, t.ordinal))
    for by_first in out.values():
        for lst in by_first.values():
            lst.sort(key=lambda x: -len(x[0]))
    return out


def _resolve(target: str, terms: list[IndexTerm], names: _Names) -> int | None:
    """The term a cross-reference names: 'Neoplasm, intestine, large' -> the ordinal of that term.
    A reference whose tail names nothing further ('Neoplasm, skin, by site') resolves to what it named."""
    rest = " ".join(target.lower().replace("(s)", "").replace("(", " ").replace(")", " ").split())
    node: int | None = None
    while rest:
        first = re.split(r"[ ,]", rest, maxsplit=1)[0]
        nxt = None
        for cand, child in names.get(node, {}).get(first, ()):
            if rest == cand or rest.startswith(cand + " ") or rest.startswith(cand + ","):
                nxt = (child, len(cand))
                break
        if nxt is None and first.endswith("s"):  # "Benzodiazepines" -> "Benzodiazepine NEC"
            for cand, child in names.get(node, {}).get(first[:-1], ()):
                if cand == first[:-1]:
                    nxt = (child, len(first))
                    break
        if nxt is None:
            break
        node = nxt[0]
        rest = rest[nxt[1] :].lstrip(" ,")
    if node is None or (rest and not rest.startswith("by ")):
        return None  # nothing named, or a longer path than the file has: no alias rather than a wrong one
    return node


def _spellings(title: str) -> list[str]:
    """The comma parts of a title that are spellings of one word ("Kerosene, kerosine", "Larynx,
    laryngeal", "Intestine, intestinal") — not inversions ("Calyx, renal", "Blockers, calcium channel")."""
    parts = [p.strip() for p in _strip_nec(title).split(",") if p.strip()]
    if len(parts) < 2:
        return []
    heads = [p.split()[0].lower() for p in parts]
    if all(len(h) >= 4 and h[:4] == heads[0][:4] for h in heads):
        return parts
    return []


def _path_ordinals(terms: list[IndexTerm], ordinal: int) -> list[int]:
    out = []
    node: int | None = ordinal
    while node is not None:
        out.append(node)
        node = terms[node].parent
    return out[::-1]


def _build_table(index: IndexFile) -> _Table:
    terms = index.terms
    names = _names(terms)
    skip_root = index.kind == "neoplasm_table"
    own = [_level_tokens(_strip_nec(t.title)) for t in terms]
    aliases: dict[int, list[frozenset[str]]] = {}
    for t in terms:  # rows that refer elsewhere lend their words to the row they name
        for ref in (t.see, t.see_also):
            if not ref:
                continue
            target = _resolve(ref, terms, names)
            if target is not None and target != t.ordinal:
                # the referring term's whole path ("Skin > cheek" -> {skin, cheek}), main term of the
                # Neoplasm Table aside
                path_words = frozenset().union(
                    *(
                        own[o]
                        for o in _path_ordinals(terms, t.ordinal)
                        if not (skip_root and terms[o].level == 0)
                    )
                )
                if path_words:
                    aliases.setdefault(target, []).append(path_words)
    level_of: dict[int, _Level] = {}

    def _level(n: IndexTerm) -> _Level:  # one object per term, shared by the rows below it
        lvl = level_of.get(n.ordinal)
        if lvl is None:
            variants = tuple(_level_tokens(p) for p in _spellings(n.title))
            lvl = level_of[n.ordinal] = _Level(
                (own[n.ordinal], *aliases.get(n.ordinal, ())), _level_tokens(n.nemod), variants
            )
        return lvl

    columns = {c.key: c.heading for c in index.columns if c.col != 1}
    row_of: dict[int, int] = {}
    rows: list[_Row] = []
    root = None
    for t in terms:
        cells = {c.column: c.code for c in t.cells if c.code}
        codes = tuple(c for c in t.codes if c and c.strip("-"))
        if not cells and not codes:
            continue
        chain: list[IndexTerm] = []
        node: IndexTerm | None = t
        while node is not None:
            chain.append(node)
            node = terms[node.parent] if node.parent is not None else None
        chain.reverse()
        if skip_root and len(chain) == 1:
            root = len(rows)
        path = chain[1:] if skip_root and len(chain) > 1 else chain
        levels = tuple(_level(n) for n in path)
        words = frozenset().union(
            *(a for lvl in levels for a in lvl.alts), *(lvl.opt for lvl in levels)
        )
        display_parts = [n.full_title for n in path]
        if skip_root and len(chain) > 1 and display_parts:
            display_parts[0] = display_parts[0][:1].upper() + display_parts[0][1:]
        parent_row = row_of.get(t.parent) if t.parent is not None else None
        row_of[t.ordinal] = len(rows)
        rows.append(
            _Row(t.ordinal, levels, " > ".join(display_parts), cells, codes, words, parent_row)
        )
    kids: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        if r.parent is not None:
            kids.setdefault(r.parent, []).append(i)
    for p, ks in kids.items():
        rows[p].children = tuple(ks)
    postings: dict[str, list[int]] = {}
    leaf_postings: dict[str, list[int]] = {}
    df: dict[str, int] = {}
    for i, r in enumerate(rows):
        for w in r.words:
            postings.setdefault(w, []).append(i)
        for w in frozenset().union(*r.levels[-1].alts, r.levels[-1].opt):
            leaf_postings.setdefault(w, []).append(i)
        for w in r.levels[-1].alts[0] | r.levels[-1].opt:  # rarity over rows' own words
            df[w] = df.get(w, 0) + 1
    n = max(len(rows), 1)
    idf = {w: math.log(1.0 + n / d) for w, d in df.items()}
    for w in postings:
        idf.setdefault(w, math.log(1.0 + n))
    for lvl in level_of.values():
        ways = (lvl.alts[0], *lvl.variants, *lvl.alts[1:])
        lvl.req = tuple(frozenset(w for w in alt if w not in FREE) for alt in ways)
        lvl.req_idf = tuple(sum(idf.get(w, 1.0) for w in req) for req in lvl.req)
        lvl.n_alias = len(lvl.alts) - 1
    roles_src = (
        _DRUG_ROLES
        if index.kind == "drug_table"
        else _NEO_ROLES
        if index.kind == "neoplasm_table"
        else {}
    )
    roles = {}
    for role, pattern in roles_src.items():
        key = next((k for k, h in columns.items() if re.search(pattern, h, re.I)), None)
        if key:
            roles[role] = key
    return _Table(
        index.kind,
        index.version,
        columns,
        roles,
        rows,
        {w: tuple(ids) for w, ids in postings.items()},
        idf,
        root,
        {w: tuple(ids) for w, ids in leaf_postings.items()},
    )


# --------------------------------------------------------------------------------- question words
def drug_role(question: str) -> tuple[str, bool]:
    """The drug-table column a question points to: (role, assumed?). Guideline defaults: no intent
    stated -> accidental; undetermined only when the record says intent cannot be determined."""
    q = question.lower()
    if _RE_UNDERDOSING.search(q):
        return "underdosing", False
    if _RE_ASSAULT.search(q):
        return "assault", False
    # "unclear whether it was intentional" is not a statement of intent (coded accidental, I.C.19.e.5.b)
    q = _RE_INTENT_UNSURE.sub(" ", q)
    if _RE_SELF_HARM.search(
        re.sub(r"\bunintentional(ly)?\b|not intentional(ly)?|non-?intentional", " ", q)
    ):
        return "self_harm", False
    if _RE_SLIPPED_IN.search(q):
        return "assault", False
    if _RE_UNDETERMINED.search(q):
        return "undetermined", False
    adverse = _RE_ADVERSE.search(q)
    error = _RE_ERROR.search(q)
    explicit_adverse = _explicit_adverse(q)
    if explicit_adverse and not (
        error
        and re.search(
            r"overdos|too (much|many)|wrong|error|mistake|twice|double|"
            r"extra|more than|excess",
            error.group(0),
        )
    ):
        return "adverse", False
    if error or _RE_ACCIDENTAL.search(q):
        return "accidental", not _RE_ACCIDENTAL.search(q)
    if adverse:  # "digoxin toxicity", "allergic to penicillin": a drug given for treatment
        return "adverse", True
    if _CAUSE.search(q):  # "hypothyroidism due to amiodarone": a condition a medicine caused
        return "adverse", True
    return "accidental", True


def encounter_char(question: str, allowed: dict[str, str]) -> tuple[str, bool]:
    """7th character from the encounter words: (char, assumed?). A (initial) when nothing is said."""
    q = question.lower()
    for char, pattern in (("S", _RE_SEQUELA), ("D", _RE_SUBSEQUENT), ("A", _RE_INITIAL)):
        if char in allowed and pattern.search(q):
            return char, False
    words = set(tokens(q))
    scores: dict[str, tuple[float, int]] = {}
    for char, meaning in allowed.items():  # other 7th-character sets: words of the definitions
        m = [t for t in tokens(meaning) if t not in FREE]
        hit = sum(1 for t in m if t in words)
        if (
            m and hit
        ):  # the share of its words said, then how many ("24 hours … after hospital admission")
            scores[char] = (hit / len(m), hit)
    most = max(scores.values(), default=None)
    best = [c for c, v in scores.items() if v == most]
    if len(best) == 1:
        return best[0], False
    # several say the question's words equally ("dry": "early dry stage", "intermediate dry stage" of H35.31-):
    # the question does not say which
    return seventh_default(allowed), True


def neoplasm_behavior(text: str) -> str:
    """The Neoplasm Table column a phrase's behaviour words name (secondary aside)."""
    t = text.lower()
    if _RE_IN_SITU.search(t):
        return "in_situ"
    if _RE_UNCERTAIN.search(t):
        return "uncertain"
    if _RE_UNSPEC_BEHAVIOR.search(t):
        return "unspecified"
    if _RE_BENIGN.search(t):
        return "benign"
    if _RE_MALIGNANT.search(t):
        return "primary"
    return "unspecified"  # "neoplasm of X", "tumor of X", "growth": Neoplasm, unspecified behavior


_BOUNDARY = re.compile(
    r"\s*(?:;|\(|\)|\bwith\b|\band\b|\bplus\b|\balso\b|\bas well as\b|\bincluding\b|"
    r"\bthat has\b|\bwhich has\b|\bwho has\b)\s*"
)
_PREP = re.compile(r"\b(from|to|into|involving|within|throughout|in|of|at|on)\b")
_MAJOR_PREP = re.compile(r"\b(from|to|into|involving|throughout)\b")
_MINOR_PREP = re.compile(r"\b(?:of|in|at|on|within)\b")


def neoplasm_spans(question: str) -> list[tuple[str, str]]:
    """(phrase, role) pairs in question order: role is a column role (primary, secondary, in_situ …).
    Without metastasis words the whole question is one phrase."""
    t = re.sub(r"secondary to\b", "due to", question.lower())
    if not _RE_SECONDARY.search(t):
        return [(question, neoplasm_behavior(question))]
    base = neoplasm_behavior(_RE_SECONDARY.sub(" ", t))
    if base == "unspecified" and not _RE_UNSPEC_BEHAVIOR.search(t):
        base = "primary"  # metastasis implies malignancy
    out: list[tuple[str, str]] = []
    last_role = base
    for clause in _BOUNDARY.split(t):
        clause = clause.strip(" ,.:?-")
        if not clause:
            continue
        m = _RE_SECONDARY.search(clause)
        if not m:
            has_cue = bool(_RE_NEO_CORE.search(clause) or _RE_MALIGNANT.search(clause))
            role = neoplasm_behavior(clause) if has_cue else last_role
            out.append((clause, role))
            last_role = role
            continue
        before, after = clause[: m.start()], clause[m.end() :]
        if before.strip():
            # "lung cancer metastatic to…": the site before is primary; "bone metastases": secondary there
            out.append((before, "primary" if _RE_MALIGNANT.search(before) else "secondary"))
        if not _PREP.search(after):
            # "metastatic breast cancer": the named site is primary; the spread is to an unnamed site
            if after.strip():
                if m.group(0).startswith("metasta") and _RE_MALIGNANT.search(after):
                    out.append((after, "primary"))
                    out.append(("", "secondary"))
                else:  # "secondary bone cancer", "mets liver"
                    out.append((after, "secondary"))
            last_role = "secondary"
            continue
        # "… of the colon to the liver": a phrase after to / into is the secondary site, after from
        # the primary; "of" / "in" names the secondary site unless a "to" phrase does ("of" is then primary)
        pieces = _MAJOR_PREP.split(after)
        head, majors = pieces[0], list(zip(pieces[1::2], pieces[2::2], strict=True))
        has_to = any(word != "from" for word, _ in majors)
        minor = _MINOR_PREP.search(head)
        lead = head[: minor.start()] if minor else head
        has_from = any(word == "from" for word, _ in majors)
        if lead.strip() and _RE_MALIGNANT.search(lead) and (has_to or not has_from):
            out.append(
                (lead, "primary")
            )  # "metastatic prostate cancer to bone": prostate is primary
        elif lead.strip() and not has_to and not minor:
            # "metastatic bone cancer from prostate": the cancer named with its origin is the spread
            out.append((lead, "secondary"))
        if minor:
            out.append((head[minor.end() :], "primary" if has_to else "secondary"))
        out.extend(
            (phrase, "primary" if word == "from" else "secondary") for word, phrase in majors
        )
        last_role = "secondary"
    if _RE_UNKNOWN_PRIMARY.search(t):
        out.append(("", "primary"))
    # phrases that name no site ("malignant neoplasm", "carcinoma") add nothing; "" asks for the
    # table's first row (site not named: C80.1 / C79.9)
    return [(p, r) for p, r in out if not p.strip() or _has_site_words(p)]


def _has_site_words(text: str) -> bool:
    return bool(_content_words(text))


def _content_words(text: str) -> list[str]:
    """Words that could name a site: not behaviour, table, side or filler words."""
    return [
        w
        for w in tokens(_RE_SECONDARY.sub(" ", text))
        if w not in CUE_STEMS and w not in FREE and w not in SIDE_STEMS and w not in _FILLER_STEMS
    ]


# ---------------------------------------------------------------------------------------- searcher
class TableSearcher:
    """Search the official tables (and index files) of one fiscal year's release."""

    def __init__(self, tables: dict[str, _Table], book: CodeBook | None = None) -> None:
        self.tables = tables
        self.book = book
        self.hints: dict[str, str] = {}  # brand or street name -> generic words (a row's name)
        self.class_rows: dict[str, int] = {}  # generic name missing from the table -> its class row
        drug = tables.get("drug_table")
        if drug is not None:  # keep only hints that lead to a row of this table
            for name, target in BRANDS.items():
                if _names_row(drug, target) or target in DRUG_CLASSES or target in INDEX_CLASSES:
                    self.hints[name] = target
            for name, path in DRUG_CLASSES.items():
                row = _find_path(drug, path)
                if row is not None:
                    self.class_rows[name] = row
                else:
                    log.debug("drug class row not found path=%s", path)
        self._hint_re = _alternation(self.hints)
        self._class_re = _alternation(self.class_rows)

    def drug_class(self, word: str) -> str | None:
        """The Tabular title of the T-code category the Table of Drugs gives a drug named by one word
        ("metformin" -> T38.3 "… insulin and oral hypoglycemic [antidiabetic] drugs"; a brand through
        its generic name), or None. The class words lead to Long-term drug therapy subterms; a generic the
        table has no row for gives the class words of its `[[index_class]]` ("alendronate": bisphosphonates)."""
        drug = self.tables.get("drug_table")
        if drug is None or self.book is None:
            return None
        generic = self.hints.get(word, word)
        if generic in INDEX_CLASSES and not _names_row(drug, generic):
            return INDEX_CLASSES[generic]
        target = frozenset(tokens(generic))
        if not target:
            return None
        rows = [
            i
            for i in drug.postings.get(next(iter(target)), ())
            if len(drug.rows[i].levels) == 1 and target in drug.rows[i].levels[0].alts[:1]
        ]
        if not rows and generic in self.class_rows:  # a generic newer than the table: its class row
            rows = [self.class_rows[generic]]
        for i in rows:
            code = next(
                (normalize_code(c) for c in drug.rows[i].cells.values() if c and c.startswith("T")),
                None,
            )
            head = (
                code[:-1].rstrip("X").rstrip(".") if code else ""
            )  # T45.511 -> T45.51, T38.3X1 -> T38.3
            if head in self.book.nodes:
                return self.book.title(head) or None
        return None

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        drug: IndexFile | None,
        neoplasm: IndexFile | None,
        book: CodeBook | None = None,
        indexes: list[IndexFile] | tuple[IndexFile, ...] = (),
    ) -> TableSearcher:
        tables: dict[str, _Table] = {}
        for f in (drug, neoplasm, *indexes):
            if f is not None:
                tables[f.kind] = _build_table(f)
        return cls(tables, book)

    @property
    def kinds(self) -> list[str]:
        return list(self.tables)

    # ---- question analysis --------------------------------------------------------------------
    def _expand(self, question: str) -> str:
        text = question.lower()
        for pattern, repl in _TABLE_PHRASES:
            text = pattern.sub(repl, text)
        extra = []
        if self._hint_re is not None:
            extra.extend(
                self.hints[m.group(1)] for m in self._hint_re.finditer(text.replace("-", " "))
            )
        return " ".join([text, *extra])

    def _query(self, table: _Table, text: str) -> _Query:
        text = _META.sub(" ", text)
        words = tokens(text)
        weights: dict[str, float] = {}
        for w in words:
            if w in table.postings and w not in FREE and len(w) > 1:
                weight = (
                    CUE_WEIGHT
                    if w in CUE_STEMS
                    else SIDE_WEIGHT
                    if w in SIDE_STEMS
                    else table.idf.get(w, 1.0)
                )
                weights[w] = max(weights.get(w, 0.0), weight)
        if table.kind == "neoplasm_table":
            for w in _FILLER_STEMS.intersection(weights):
                del weights[w]
        if table.kind == "drug_table":
            # "GI bleed from warfarin", "rash due to amoxicillin": the words before name the condition,
            # the words after the substance — unless the words before are themselves a poisoning
            sides = condition_and_cause(text)
            if sides is not None and not _DRUG_CUE.search(sides[0]):
                for w in set(tokens(sides[0])) - set(tokens(sides[1])):
                    if w in weights:
                        weights[w] *= MANIFESTATION_WEIGHT
            # "methicillin resistant Staphylococcus aureus", "vancomycin-resistant": a drug an organism resists is
            # its resistance (I.C.1.c, Z16), not a drug the patient took
            for m in _RESISTANT.finditer(
                " ".join(spelt_out(text))
            ):  # abbreviations spelt out ("MRSA")
                for w in set(tokens(m.group(1))):
                    weights.pop(w, None)
            # "… put antifreeze in her coffee": the drink or food carried the substance
            for m in _VEHICLE.finditer(text):
                for w in set(tokens(m.group(0))):
                    if w in weights:
                        weights[w] *= MANIFESTATION_WEIGHT
        return _Query(weights, words)

    def _score(self, table: _Table, row: _Row, q: _Query) -> float:
        weights = q.weights
        matched = row.words.intersection(weights)
        if not matched:
            return 0.0
        cover = sum(weights[w] for w in matched)
        if not any(w not in CUE_STEMS and w not in SIDE_STEMS for w in matched):
            cover *= 0.5  # only table words ("poison", "left"): a weak match
        # a level reached through a cross-reference ("colon — see also Neoplasm, intestine, large")
        # stands for the whole path down to it: the levels above it are walked, not missed
        reached = -1
        for i, lvl in enumerate(row.levels):
            if lvl.n_alias and any(req and req <= matched for req in lvl.req[-lvl.n_alias :]):
                reached = i
        pen = 0.0
        last = len(row.levels) - 1
        idf = table.idf
        for i, lvl in enumerate(row.levels):
            if i <= reached:
                continue
            miss = min(
                total - sum(idf.get(w, 1.0) for w in req & matched)
                for req, total in zip(lvl.req, lvl.req_idf, strict=True)
            )
            pen += (ALPHA if i == last else BETA) * miss
        anchor = row.levels[0]
        if (
            reached < 0
            and not any(w in weights for alt in anchor.alts for w in alt)
            and not (anchor.opt & weights.keys())
        ):
            cover *= ANCHOR_MISS
        said = sum(
            1 for lvl in row.levels if any(a & matched for a in lvl.alts) or lvl.opt & matched
        )
        return cover - pen + 0.01 * said

    def _rank(self, table: _Table, q: _Query, limit: int = 40) -> list[tuple[float, int]]:
        """The best rows for a question: candidates are rows whose own title has a question word that
        is not a table word; they are scored in order of the words they cover (an upper bound of
        their score) until no remaining row can enter the top `limit`."""
        weights = q.weights
        strong = [w for w, wt in weights.items() if wt > CUE_WEIGHT]
        only_cues = not strong  # "poisoning by unspecified drug": main terms only ("Drug NEC")
        strong = strong or list(weights)
        # a row whose own title says none of the question's words never beats the row above it
        cand: set[int] = set()
        for w in weights:
            cand.update(table.leaf_postings.get(w, ()))
        if only_cues:
            cand = {i for i in cand if len(table.rows[i].levels) == 1}
        bound: dict[int, float] = {}
        strong_hit: set[int] = set()
        strong_set = set(strong)
        for w, wt in weights.items():
            for i in table.postings.get(w, ()):
                if i in cand:
                    bound[i] = bound.get(i, 0.0) + wt
                    if w in strong_set:
                        strong_hit.add(i)
        bound = {i: b for i, b in bound.items() if i in strong_hit}
        order = sorted(bound, key=lambda i: (-bound[i], i))[:MAX_SCORED]
        scored: list[tuple[float, int]] = []
        floor = 0.0
        for i in order:
            if len(scored) >= limit and bound[i] + 0.1 < floor:
                break
            s = self._score(table, table.rows[i], q)
            if s > 0:
                scored.append((s, i))
                if len(scored) >= limit:
                    scored.sort(key=lambda x: (-x[0], x[1]))
                    del scored[limit:]
                    floor = scored[-1][0]
        scored.sort(key=lambda x: (-x[0], x[1]))
        return scored[:limit]

    # ---- public API ---------------------------------------------------------------------------
    def intent(self, question: str) -> tuple[str | None, float]:
        """("drug" | "neoplasm" | "external_cause" | None, confidence 0..1): which table answers this."""
        kind, conf = max(self.intents(question).items(), key=lambda kc: (kc[1], kc[0]))
        return (kind, conf) if conf >= 0.25 else (None, conf)

    def intents(self, question: str) -> dict[str, float]:
        """Each table's confidence 0..1 that it answers this ("anemia due to chemotherapy for breast cancer":
        the Table of Drugs for the chemotherapy and the Neoplasm Table for the cancer)."""
        q = question.lower()
        drug_conf = self._drug_intent(q) if "drug_table" in self.tables else 0.0
        neo_conf = self._neoplasm_intent(q) if "neoplasm_table" in self.tables else 0.0
        ext_conf = 0.0
        if "external_cause_index" in self.tables and re.search(
            r"external cause|place of occurrence|activity code|"
            r"\by9[0-9]|how (?:did|was) .{0,30}injur",
            q,
        ):
            ext_conf = 0.6
        rule = 0.6 if _RE_RULE_QUESTION.search(q) else 1.0  # a sequencing / rule question
        return {
            "drug": round(drug_conf * rule, 2),
            "neoplasm": round(neo_conf * rule, 2),
            "external_cause": round(ext_conf * rule, 2),
        }

    def _drug_intent(self, q: str) -> float:
        if _RE_SUBSTANCE_INDUCED.search(q) and not re.search(
            r"overdos|poison|toxic effect|self[- ]harm|suicid|assault|table of drugs", q
        ):
            return 0.2
        if (
            _RE_NOT_DRUG.search(q)
            and not re.search(
                r"overdos|underdos|adverse effect|toxic effect|self[- ]harm|"
                r"suicid|assault|table of drugs",
                q,
            )
            and not _explicit_adverse(q)
        ):
            return 0.2  # "on long-term warfarin": a status, unless the drug was taken as prescribed and did harm
        strong = re.search(
            r"poison|overdos|\bod\b|adverse|side[- ]effect|underdos|toxicity|toxic effect|"
            r"table of drugs|drug code|intoxicat|envenom|drug (?:reaction|allergy)",
            q,
        )
        weak = strong or _RE_DRUG_CONTEXT.search(q) or _RE_ASSAULT.search(q)
        if not weak:
            return 0.0
        table = self.tables["drug_table"]
        expanded = self._expand(q)
        query = self._query(table, expanded)
        ranked = self._rank(table, query, limit=1)
        if self._class_re is not None:
            m = self._class_re.search(expanded)
            if m:  # a drug we know by its class
                ranked = [(max(table.idf.values()), self.class_rows[m.group(1)])]
        # the substance is the main term (or its cross-reference): "motor vehicle" under
        # "Carbon monoxide" names no substance by itself
        substance = (
            bool(ranked)
            and ranked[0][0] >= 3.0
            and (
                ranked[0][1] in self.class_rows.values()
                or _anchor_said(table.rows[ranked[0][1]], query)
            )
        )
        if strong:
            return 0.9 if substance else 0.5
        if substance and ranked[0][0] >= 5.0:
            row = table.rows[ranked[0][1]]
            # a medicine (it has an adverse-effect column) or a clearly toxic context
            medicinal = table.roles.get("adverse") in row.cells
            return 0.7 if medicinal or _RE_TOXIC_CONTEXT.search(q) else 0.4
        return 0.15

    def _neoplasm_intent(self, q: str) -> float:
        q = _neo_text(q)
        if not _RE_NEO_CORE.search(q):
            return 0.0
        if _RE_NOT_NEOPLASM.search(q):
            return 0.2
        if _RE_HISTOLOGY_OWN_CODES.search(q) and not _RE_SECONDARY.search(q):
            return 0.2
        table = self.tables["neoplasm_table"]
        query = self._query(table, q)
        ranked = self._rank(table, query, limit=1)
        site = bool(ranked) and ranked[0][0] >= 2.0
        if not site:
            return (
                0.5 if not _content_words(q) else 0.4
            )  # "malignant neoplasm, site unspecified" / unknown words
        return 0.9

    def terms(self, question: str, kind: str, k: int = 5) -> list[tuple[str, float]]:
        """The best term paths of one table ("drug_table", "neoplasm_table", …) for a question's words,
        whatever their columns: (term path, score). For explanations and tests; needs no code book."""
        table = self.tables[kind]
        text = _neo_text(question) if kind == "neoplasm_table" else self._expand(question)
        return [
            (table.rows[i].display, round(s, 3))
            for s, i in self._rank(table, self._query(table, text), k)
        ]

    def match(self, question: str, k: int = 5, kind: str | None = None) -> list[TableHit]:
        """Table codes for a question, best first. `kind` forces "drug" / "neoplasm" / "external_cause"."""
        if self.book is None:
            raise ValueError(
                "TableSearcher.match needs a code book: TableSearcher.build(..., book)"
            )
        what = kind or self.intent(question)[0]
        if what == "drug" and "drug_table" in self.tables:
            hits = self._match_drug(question, k)
        elif what == "neoplasm" and "neoplasm_table" in self.tables:
            hits = self._match_neoplasm(question, k)
        elif what == "external_cause" and "external_cause_index" in self.tables:
            hits = self._match_index(self.tables["external_cause_index"], question, k)
        elif "index" in self.tables:
            hits = self._match_index(self.tables["index"], question, k)
        else:
            hits = []
        return hits[:k]

    # ---- drug table ---------------------------------------------------------------------------
    def _match_drug(self, question: str, k: int) -> list[TableHit]:
        table = self.tables["drug_table"]
        role, role_assumed = drug_role(question)
        expanded = self._expand(question)
        q = self._query(table, expanded)
        ranked = self._rank(table, q, limit=15)
        if self._class_re is not None:  # a drug the table knows only by its class
            top = max(table.idf.values(), default=1.0) + HINT_BONUS
            named = {self.class_rows[m.group(1)] for m in self._class_re.finditer(expanded)}
            if named:
                ranked = sorted(
                    [(top, i) for i in named] + [(s_, i) for s_, i in ranked if i not in named],
                    key=lambda x: (-x[0], x[1]),
                )
        hits: list[TableHit] = []
        seen: set[str] = set()
        used: set[str] = set()
        for score, i in ranked:
            row = table.rows[i]
            row, col_role, notes = self._drug_cell(table, row, role)
            if row is None:
                continue
            key = table.roles[col_role]
            printed = row.cells[key]
            if role_assumed:
                notes.insert(
                    0,
                    {
                        "accidental": "no intent documented: poisoning is coded as accidental "
                        "(guideline I.C.19.e.5.b)",
                        "adverse": "drug taken as prescribed assumed: adverse effect",
                    }.get(col_role, ""),
                )
            hit = self._hit(
                table,
                row,
                key,
                printed,
                question,
                q.words,
                score,
                col_role,
                [n for n in notes if n],
            )
            if hit is None or hit.code in seen:
                continue
            # a second substance ranks just after the first; alternatives for the same words after that
            overlap = bool(row.words & used)
            seen.add(hit.code)
            hits.append(hit if not overlap else _demote(hit))
            used |= row.words & q.weights.keys()
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def _drug_cell(self, table: _Table, row: _Row, role: str) -> tuple[_Row | None, str, list[str]]:
        """The row and column to read: the asked column, or for a nonmedicinal substance (no adverse
        effect / underdosing cell) its medicinal subterm, else the poisoning column."""
        key = table.roles.get(role)
        if key and key in row.cells:
            return row, role, []
        if role in ("adverse", "underdosing"):
            # "Lithium > salts (carbonate)": the therapeutic form, when the subterms agree on it
            forms = [table.rows[c] for c in row.children if key in table.rows[c].cells]
            if forms and len({normalize_code(f.cells[key])[:5] for f in forms}) == 1:
                return forms[0], role, [f"the medicinal form listed under {row.display}"]
            acc = table.roles.get("accidental")
            if acc and acc in row.cells:
                label = "adverse effect" if role == "adverse" else "underdosing"
                return (
                    row,
                    "accidental",
                    [
                        f"the table has no {label} code for {row.display}: "
                        "coded as poisoning (accidental)"
                    ],
                )
        if role in ("self_harm", "assault", "undetermined"):
            acc = table.roles.get("accidental")
            if acc and acc in row.cells:
                return (
                    row,
                    "accidental",
                    [f"no {role.replace('_', ' ')} column code for {row.display}"],
                )
        return None, role, []

    # ---- neoplasm table -----------------------------------------------------------------------
    def _match_neoplasm(self, question: str, k: int) -> list[TableHit]:
        table = self.tables["neoplasm_table"]
        question = _neo_text(question)
        spans = neoplasm_spans(question)
        own_codes = bool(_RE_HISTOLOGY_OWN_CODES.search(question.lower()))
        ordered: list[tuple[tuple[int, int, float], TableHit]] = []
        seen: set[str] = set()
        all_words = tokens(question)
        for n, (phrase, role) in enumerate(spans):
            if own_codes and role != "secondary":
                continue  # melanoma, lymphoma …: the Alphabetic Index gives their own codes
            key = table.roles.get(role)
            if key is None:
                continue
            q = self._query(table, phrase) if phrase.strip() else _Query({}, [])
            chosen: list[tuple[float, _Row]] = []
            site_words = {
                w for w, wt in q.weights.items() if w not in CUE_STEMS and w not in SIDE_STEMS
            }
            if site_words:
                for score, i in self._rank(table, q, limit=30):
                    row = table.rows[i]
                    if key in row.cells:
                        chosen.append((score, row))
                        if len(chosen) >= 3:
                            break
            elif (
                not _content_words(phrase)
                and table.root is not None
                and key in table.rows[table.root].cells
            ):
                # no site named at all ("malignant neoplasm, site unspecified", "unknown primary")
                chosen = [(0.5, table.rows[table.root])]
            others = [w for j, (p, _) in enumerate(spans) if j != n for w in tokens(p)]
            for rank_i, (score, row) in enumerate(chosen):
                hit = self._hit(
                    table,
                    row,
                    key,
                    row.cells[key],
                    phrase or question,
                    q.words or all_words,
                    score,
                    role,
                    [],
                    fallback_words=[w for w in all_words if w not in others],
                )
                if hit is None or hit.code in seen:
                    continue
                seen.add(hit.code)
                # each phrase's best row, in question order, then the alternatives by score
                ordered.append(((0, n, 0.0) if rank_i == 0 else (1, 0, -score), hit))
        ordered.sort(key=lambda x: x[0])
        hits = [h for _, h in ordered]
        return hits[:k]

    # ---- index files --------------------------------------------------------------------------
    def _match_index(self, table: _Table, question: str, k: int) -> list[TableHit]:
        q = self._query(table, self._expand(question))
        hits, seen = [], set()
        for score, i in self._rank(table, q, limit=20):
            row = table.rows[i]
            for printed in row.codes:
                hit = self._hit(table, row, "", printed, question, q.words, score, "index", [])
                if hit is not None and hit.code not in seen:
                    seen.add(hit.code)
                    hits.append(hit)
            if len(hits) >= k:
                break
        return hits

    # ---- codes --------------------------------------------------------------------------------
    def _hit(
        self,
        table: _Table,
        row: _Row,
        key: str,
        printed: str,
        question: str,
        words: list[str],
        score: float,
        role: str,
        notes: list[str],
        fallback_words: list[str] | None = None,
    ) -> TableHit | None:
        done = self.complete(printed, question, words, fallback_words)
        if done is None:
            return None
        code, seventh_assumed, more = done
        return TableHit(
            code=code,
            table_code=printed,
            column=table.columns.get(key, ""),
            term=row.display,
            source_type=table.source_type,
            score=round(score, 3),
            seventh_assumed=seventh_assumed,
            column_key=key,
            role=role,
            table_title=table.title,
            table_year=table.version,
            assumptions=[*notes, *more],
        )

    def complete(
        self,
        printed: str,
        question: str,
        words: list[str] | None = None,
        fallback_words: list[str] | None = None,
    ) -> tuple[str, bool, list[str]] | None:
        """A table code made reportable: (code, 7th character assumed?, assumptions), or None when the
        book does not have it."""
        book = self.book
        if book is None:
            raise ValueError(
                "TableSearcher needs a code book to complete codes: TableSearcher.build(..., book)"
            )
        code = normalize_code(printed)
        node = book.nodes.get(code)
        if node is None or not book.is_diag(code):
            log.debug("table code not in book code=%s fy=%s", printed, book.fiscal_year)
            return None
        notes: list[str] = []
        q = set(words if words is not None else tokens(question))
        fb = set(fallback_words) if fallback_words else set(tokens(question))
        if code.startswith(
            ("O", "Z33", "Z34")
        ):  # a pregnancy code: the weeks said choose the trimester (I.C.15.a.3)
            q |= set(trimester_terms(question, [*q, stem("pregnancy")]))
        while book.nodes[code].children:
            code, assumed_why = _pick_child(book, code, q, fb)
            if assumed_why:
                notes.append(assumed_why)
        seventh_assumed = False
        defs = book.seventh_defs(code)
        if defs:
            char, seventh_assumed = encounter_char(question, defs[0])
            full = book.with_seventh(code, char)
            if seventh_assumed:
                notes.append(
                    f"7th character {char} ({defs[0][char]}) assumed: the question does not say which"
                )
            code = full
        info = book.lookup(code)
        if not info.exists or not info.reportable:
            return None
        return code, seventh_assumed, notes


def _alternation(names: dict[str, object]) -> re.Pattern[str] | None:
    if not names:
        return None
    return re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b"
    )


def _find_path(table: _Table, path: str) -> int | None:
    """The row printed as 'Antidepressant > selective serotonin reuptake inhibitor'."""
    parts = [frozenset(tokens(_strip_nec(p))) for p in path.split(">")]
    first = next(iter(parts[0]), None)
    for i in table.postings.get(first, ()) if first else ():
        row = table.rows[i]
        if len(row.levels) == len(parts) and all(
            frozenset(w for w in lvl.alts[0] if w not in FREE)
            == frozenset(w for w in p if w not in FREE)
            for lvl, p in zip(row.levels, parts, strict=True)
        ):
            return i
    return None


def _names_row(table: _Table, text: str) -> bool:
    """Some row's own title is made only of these words (so a hint leads somewhere)."""
    words = set(tokens(text))
    for w in words:
        for i in table.postings.get(w, ()):
            if any(alt and alt <= words for alt in table.rows[i].levels[-1].alts):
                return True
    return False


def _anchor_said(row: _Row, q: _Query) -> bool:
    """The question names the row's substance: every word of its main term (in one of its
    spellings), or of a cross-reference to the row — and not only table words."""
    said = set(q.weights)
    strong = {w for w, wt in q.weights.items() if wt > CUE_WEIGHT * 1.01}

    def named(req: frozenset[str]) -> bool:
        return bool(req) and req <= said and bool(req & strong)

    main = row.levels[0]
    if any(named(req) for req in main.req[: len(main.req) - main.n_alias]):
        return True
    return any(named(req) for lvl in row.levels for req in lvl.req[len(lvl.req) - lvl.n_alias :])


def _neo_text(question: str) -> str:
    text = question.lower()
    for pattern, repl in _NEO_PHRASES:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def _demote(hit: TableHit) -> TableHit:
    hit.score = round(hit.score * 0.5, 3)
    return hit


def _pick_child(book: CodeBook, code: str, q: set[str], fallback: set[str]) -> tuple[str, str]:
    """The subcode whose distinguishing words (side, sex, type …) the question says; else the
    unspecified one, else the one "without" what the others add (M51.369 "… without mention of lumbar back
    pain or lower extremity pain" below M51.36), else the first. Returns (code, why it was assumed, or "")."""
    parent = book.nodes[code]
    base = set(tokens(parent.title))
    kids = [c for c in parent.children if book.is_diag(c)]
    new = {c: set(tokens(book.nodes[c].title)) - base for c in kids}
    dist = {c: {w for w in new[c] if w not in FREE} for c in kids}
    told = set().union(*dist.values()) if dist else set()
    for apart, when, takes in CHILD_DEFAULTS:
        if apart <= told and not apart & q and when in q | fallback:
            q, fallback = q | {takes}, fallback | {takes}
    for words in (q, fallback):
        best = max((len(dist[c] & words), -len(dist[c] - words), -i, c) for i, c in enumerate(kids))
        if best[0] > 0:
            return best[3], ""
    n_unspec = parent.title.lower().count("unspecified")
    unspecified = [c for c in kids if book.nodes[c].title.lower().count("unspecified") > n_unspec]
    n_without = len(_WITHOUT.findall(parent.title))
    without = [c for c in kids if len(_WITHOUT.findall(book.nodes[c].title)) > n_without]
    pick = (unspecified or without or kids)[0]
    raw_base = set(re.findall(r"[a-z]+", parent.title.lower()))
    options = sorted(
        {w for c in kids for w in re.findall(r"[a-z]+", book.nodes[c].title.lower())}
        - raw_base
        - {"unspecified", "of", "and", "or", "the", "other", "specified"}
    )
    said = f" ({', '.join(options[:6])})" if options else ""
    shown = (
        "the unspecified code"
        if unspecified
        else "the code without them"
        if without
        else "the first subcode"
    )
    return pick, (
        f"{pick} “{book.nodes[pick].title}”: the question does not say which{said} — "
        f"{shown} is shown; check the record"
    )


_WITHOUT = re.compile(r"\bwithout\b", re.I)


# ----------------------------------------------------------------------------------------- loading
# The code a cached searcher depends on: its own, the tokenizer and vocabulary, the Index XML reader.
_CODE = (
    "codedesk.retrieval.tables",
    "codedesk.retrieval.text",
    "codedesk.vocabulary",
    "codedesk.cms.index_xml",
)


def load_table_searcher(
    drug_path: str | Path | None,
    neoplasm_path: str | Path | None,
    book: CodeBook,
    cache_dir: str | Path | None = None,
    index_paths: list[str | Path] | tuple[str | Path, ...] = (),
) -> TableSearcher:
    """Parse the table files (or read them from a cache entry keyed on each file's path, size and mtime
    and on the code that builds them) and attach the code book used to complete codes. The parsed
    tables do not depend on the book: one copy per process serves every year (each year gets its own
    shallow copy holding its book)."""
    start = time.perf_counter()
    shared = _shared_tables(
        str(drug_path or ""),
        str(neoplasm_path or ""),
        tuple(str(p) for p in index_paths),
        str(cache_dir) if cache_dir is not None else None,
        tuple(file_stamp(p) for p in (drug_path, neoplasm_path, *index_paths) if p),
    )
    searcher = copy.copy(shared)
    searcher.book = book
    log.debug(
        "tables ready kinds=%s seconds=%.3f", ",".join(searcher.kinds), time.perf_counter() - start
    )
    return searcher


@lru_cache(maxsize=4)
def _shared_tables(
    drug_path: str,
    neoplasm_path: str,
    index_paths: tuple[str, ...],
    cache_dir: str | None,
    stamps: tuple[str, ...],
) -> TableSearcher:
    """The tables without a book (`stamps` keys the process-wide copy on the files as the entry is)."""
    paths = [Path(p) for p in (drug_path, neoplasm_path, *index_paths) if p]
    cache = Cache(
        cache_dir,
        "tables",
        inputs=paths,
        code=_CODE,
        data=[VOCABULARY_PATH, TABLES_DATA_PATH],
        extra="|".join(("drug" if drug_path else "-", "neoplasm" if neoplasm_path else "-")),
    )
    loaded = cache.load(TableSearcher)
    if loaded is not None:
        log.debug("tables loaded from cache path=%s", cache.path)
        return loaded

    def build() -> TableSearcher:
        start = time.perf_counter()
        drug = parse_index_xml(drug_path) if drug_path else None
        neo = parse_index_xml(neoplasm_path) if neoplasm_path else None
        indexes = [parse_index_xml(p) for p in index_paths]
        searcher = TableSearcher.build(drug, neo, None, indexes)
        log.info(
            "tables built kinds=%s seconds=%.2f",
            ",".join(searcher.kinds),
            time.perf_counter() - start,
        )
        return searcher

    return cache.get(build, kind=TableSearcher)
