"""The name pass by dictionary (section 8b): names in any case and order, first names, particles.

Every word is read against the Census name lists (`codedesk.phi._lexicon`); a word that is a name
and no English or clinical word is a name anywhere, a name that is also a word only next to such
a name or after a title, and a name grows over the capitalised words and particles around it.
"""

from __future__ import annotations

import re

from codedesk.phi._lexicon import (
    _CLINICAL_VERBS,
    _NEVER_NAME,
    _PARTICLES,
    _TITLE_WORDS,
    _TOKEN,
    _is_cap,
    _lexicon,
    _vocab,
    _word_kind,
)
from codedesk.phi._names import EPONYMS, NOT_NAMES
from codedesk.phi._names_by_cue import _followed_by_head
from codedesk.phi._names_by_position import _LEFT_BOUNDARY
from codedesk.phi._tagging import _AL, TAGS, _Scrubber

# --- 8b. names by dictionary: any case and order, single first names, particles ------------------
# The rules above need a trigger or a known "First Last" pair in normal case. This pass reads every
# word against the Census name lists (codedesk/phi/data/person_names.txt): a word that is a first name or
# surname and no English or clinical word (Whitfield, Priscilla, OKAFOR) is a name anywhere, in any
# case; a name that is also a word (Grace, Bell, Graves, Parkinson) only next to such a name or after
# a title. A name is grown over the capitalised words and particles (van, de, O') around it.


def _scrub_dictionary_names(s: _Scrubber) -> None:
    text = s.text
    tokens = [
        m
        for m in _TOKEN.finditer(text)
        if not (m.start() > 0 and text[m.start() - 1] == "[" and m.group(0).isupper())
    ]
    if not tokens:
        return
    kinds = [_word_kind(m.group(0)) for m in tokens]
    n = len(tokens)
    all_caps_text = sum(1 for m in tokens if m.group(0).isupper()) > 0.6 * n

    def gap(i: int) -> str:  # the characters between token i and token i+1
        return text[tokens[i].end() : tokens[i + 1].start()]

    def joined(i: int) -> bool:  # tokens i and i+1 belong to one phrase (space or "Last, First")
        g = gap(i)
        return g in (" ", "  ") or (
            g == ", "
            and kinds[i + 1] in ("strong", "weak")
            and tokens[i + 1].group(0).lower() in _lexicon()["f"]
        )

    def next_word(i: int) -> str:
        return tokens[i + 1].group(0).lower() if i + 1 < n and gap(i).strip() in ("", ",") else ""

    def capish(i: int) -> bool:
        w = tokens[i].group(0)
        return _is_cap(w) and not (w.isupper() and len(w) <= 3 and not all_caps_text)

    seeds: set[int] = set()
    for i, m in enumerate(tokens):
        w, k = m.group(0), kinds[i]
        after_title = (
            i > 0
            and tokens[i - 1].group(0).lower() in _TITLE_WORDS
            and gap(i - 1) in (". ", " ", ".")
        )
        if (
            after_title
            and k != "word"
            or after_title
            and _is_cap(w)
            and w.lower() not in _NEVER_NAME
        ):
            seeds.add(i)
        elif k == "strong" and capish(i) and len(w) > 2:
            seeds.add(i)
        elif (
            k == "strong"
            and len(w) > 2
            and (
                next_word(i) in _CLINICAL_VERBS
                and _LEFT_BOUNDARY.search(text[: m.start()])
                or (i + 1 < n and joined(i) and kinds[i + 1] == "strong")
            )
        ):
            seeds.add(i)  # lower case: "priscilla has ckd", "mary okafor"
        elif (
            k == "unknown"
            and _is_cap(w)
            and not w.isupper()
            and len(w) > 2
            and next_word(i) in _CLINICAL_VERBS
            and (
                i == 0
                or gap(i - 1).strip() in (".", "?", "!", ":", ";", "-", "—")
                or tokens[i - 1].group(0).lower()
                in ("saw", "see", "call", "called", "and", "pt", "patient")
            )
        ):
            seeds.add(
                i
            )  # "Okafor has …": an unknown capitalised word as the subject of a clinical verb
        elif (
            w.lower() in _PARTICLES
            and 0 < i < n - 1
            and joined(i - 1)
            and joined(i)
            and _is_cap(tokens[i - 1].group(0))
            and kinds[i - 1] != "word"
            and i - 1 not in seeds
        ):
            j = i
            while j + 1 < n and tokens[j + 1].group(0).lower() in _PARTICLES and joined(j):
                j += 1
            if j + 1 < n and joined(j) and _is_cap(tokens[j + 1].group(0)):
                seeds.update({i - 1, j + 1})  # "Pieter van den Berg", "Esperanza de la Cruz"

    spans: list[tuple[int, int]] = []
    for i in sorted(seeds):
        lo = hi = i
        lower = not _is_cap(tokens[i].group(0))

        def joins(j: int, lower: bool = lower) -> bool:
            w, k = tokens[j].group(0), kinds[j]
            if k == "word" and w.lower() not in _PARTICLES:
                return False
            if re.search(r"['’]s$", w) and ("c" in _vocab(w) or w[:-2] in EPONYMS):
                return False  # "Mees Hodgkin's": the eponym is not part of the name
            if lower:
                return k in ("strong", "weak") or w.lower() in _PARTICLES
            return _is_cap(w) and k in ("strong", "weak", "unknown") or w.lower() in _PARTICLES

        while (
            lo > 0
            and joined(lo - 1)
            and joins(lo - 1)
            and tokens[lo - 1].group(0).lower() not in _TITLE_WORDS
        ):
            lo -= 1
        while hi + 1 < n and joined(hi) and joins(hi + 1):
            hi += 1
        while lo < i and tokens[lo].group(0).lower() in _PARTICLES:
            lo += 1
        while hi > i and tokens[hi].group(0).lower() in _PARTICLES:
            hi -= 1
        end = tokens[hi].end()
        after_title = lo > 0 and tokens[lo - 1].group(0).lower() in _TITLE_WORDS
        if not after_title and (
            _followed_by_head(text, end)
            or (
                hi + 1 < n
                and joined(hi)
                and _is_cap(tokens[hi + 1].group(0))
                and _followed_by_head(text, tokens[hi + 1].end())
            )
            or (text[end : end + 2] in ("'s", "’s") and kinds[hi] != "strong")
        ):
            continue  # an eponym: "Graves disease", "Hunt syndrome", "Addison's"
        spans.append((tokens[lo].start(), end))

    if not spans:
        return
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out.append(text[pos:a])
        out.append(TAGS["name"])
        s.found["name"] += 1
        s.name_tokens.update(
            w
            for w in re.findall(rf"[{_AL}][{_AL}'’-]+", text[a:b])
            if len(w) > 2
            and w.lower() not in _PARTICLES
            and w not in NOT_NAMES
            and w not in EPONYMS
            and _word_kind(w) == "strong"
        )
        pos = b
    out.append(text[pos:])
    s.text = re.sub(r"\[NAME\](?:,?\s+\[NAME\])+", TAGS["name"], "".join(out))
