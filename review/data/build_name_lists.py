"""Build review/data/person_names.txt: the word list the scrubber reads (build time only).

Sources (all public domain or public word lists; nothing here is read at run time):
- US Census Bureau 1990 name frequency files (dist.all.last, dist.female.first, dist.male.first) as
  shipped in the PyPI package ``names==0.3.0``: the first names, and the surnames down to rank
  ``SURNAME_RANK``.
- English words: the lower-case entries of Debian's ``wamerican`` (/usr/share/dict/american-english).
- Clinical words: every word of the ICD-10-CM titles in ``simple-icd-10-cm`` (a project dependency),
  the Table of Drugs and Chemicals and the Index to Diseases (CMS FY2025, from CODEDESK_CMS_DATA_DIR),
  and HCPCS Level II descriptions (CMS 2020), when those files are there.

One line per kind: ``f`` first names, ``l`` surnames, ``w`` English words, ``c`` clinical words. A name that is also a word (``w``/``c``: Grace, Bell, Graves, Parkinson) is tagged
only with context (a title, "patient", next to a name that is not a word); a clinical word that is
no name is listed too so that an unknown capitalised word next to a name can be told from a term.

    .venv/bin/python review/data/build_name_lists.py /path/to/site-packages/names /work/shared/data
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

SURNAME_RANK = 40_000  # the Census list's first 40,000 surnames cover ~88% of people counted
OUT = Path(__file__).with_name("person_names.txt")
WORD = re.compile(r"[a-z]+(?:['’][a-z]+)?")


def census(path: Path, limit: int | None = None) -> list[str]:
    rows = path.read_text().splitlines()[:limit]
    return [r.split()[0].lower() for r in rows if r.strip()]


def clinical_words(cms: Path | None) -> set[str]:
    import simple_icd_10_cm as cm

    words: set[str] = set()
    for code in cm.get_all_codes():
        words.update(WORD.findall(cm.get_description(code).lower()))
    if cms:
        for pattern in ("**/icd10cm-drug-*.xml", "**/icd10cm-index-*.xml", "**/icd10cm-neoplasm-*.xml"):
            for f in sorted(cms.glob(pattern))[:1]:
                for title in re.findall(r"<title>([^<]*)</title>", f.read_text(errors="replace")):
                    words.update(WORD.findall(title.lower()))
        for f in sorted(cms.glob("**/HCPC*ANWEB*.txt"))[:1]:
            for line in f.read_text(errors="replace").splitlines():
                words.update(WORD.findall(line[11:90].lower()))
    words = {w.replace("’", "'").split("'")[0] for w in words}
    return {w for w in words if len(w) > 1}


def main() -> None:
    names_dir = Path(sys.argv[1])
    cms = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    kinds: dict[str, set[str]] = defaultdict(set)
    for w in census(names_dir / "dist.female.first") + census(names_dir / "dist.male.first"):
        kinds[w].add("f")
    for w in census(names_dir / "dist.all.last", SURNAME_RANK):
        kinds[w].add("l")
    english = {w for w in Path("/usr/share/dict/american-english").read_text().split()
               if w.islower() and w.isalpha()}
    clinical = clinical_words(cms)
    for w in list(kinds):
        if w in english:
            kinds[w].add("w")
        if w in clinical:
            kinds[w].add("c")
    for w in clinical:
        if w.isalpha() and len(w) > 2:
            kinds[w].add("c")
    for w in english:
        kinds[w].add("w")
    sections = {kind: sorted(w for w, k in kinds.items() if kind in k and len(w) > 1) for kind in "flwc"}
    header = ("# One line per kind (f first names, l surnames, w English words, c clinical words): the kind, a tab,\n"
              "# the words separated by spaces. Built by review/data/build_name_lists.py from the 1990 US Census\n"
              "# name files, Debian wamerican and ICD-10-CM/HCPCS titles and the Table of Drugs.\n")
    OUT.write_text(header + "".join(f"{kind}\t{' '.join(ws)}\n" for kind, ws in sections.items()))
    lines = [w for ws in sections.values() for w in ws]
    print(f"{len(lines)} words -> {OUT}")


if __name__ == "__main__":
    main()
