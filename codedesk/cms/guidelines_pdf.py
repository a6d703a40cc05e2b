"""Parser of the ICD-10-CM Official Guidelines for Coding and Reporting (the CMS/NCHS PDF).

Yields the section tree with dotted ids as coders cite them (`I.A.19`, `I.C.4.a.3`, `II.H`,
`Appendix I`; never the word "Section"), each with its own clean text split into paragraphs that
carry their printed page, and the narrative changes (bold text in the FY PDFs) it contains.

How headings are found: the guidelines number their headings with a fixed ladder of markers
(`Section I.`, `A.`, `1.`, `a.`, `1)`, `(a)`, `(i)`). A line is a heading only when its marker is
a legal next step from the current position in that ladder (a sibling of an open heading or the
first child of the deepest one) AND it looks like a heading: bold title, or the next entry of the
PDF's own table of contents. That grammar keeps numbered lists in the body text out of the tree,
and finds headings the TOC leaves out (FY2025 added `I.C.4.a.1.a` without a TOC entry).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from codedesk.codes import PROSE_CATEGORY, PROSE_START
from codedesk.errors import SourceError

log = logging.getLogger(__name__)

SYSTEM = "ICD-10-CM"
SOURCE_TYPE = "guideline"
INTRO_ID = "Introduction"

# The heading ladder: level -> marker pattern at the start of a line (group 1 = the value).
_MARKERS: dict[int, re.Pattern[str]] = {
    1: re.compile(r"^Section\s+([IVX]+)\.\s*"),
    2: re.compile(r"^([A-Z])\.\s+"),
    3: re.compile(r"^(\d{1,2})\.\s+"),
    4: re.compile(r"^([a-z])\.\s+"),
    5: re.compile(r"^(\d{1,2})\)\s*"),
    6: re.compile(r"^\(([a-z])\)\s*"),
    7: re.compile(r"^\(([ivx]+)\)\s*"),
}
_APPENDIX = re.compile(r"^Appendix\s+([IVX]+)\s*$")
_ROMAN = [
    "i",
    "ii",
    "iii",
    "iv",
    "v",
    "vi",
    "vii",
    "viii",
    "ix",
    "x",
    "xi",
    "xii",
    "xiii",
    "xiv",
    "xv",
]
_FOOTER_PAGE = re.compile(r"^Page\s+(\d+)\s+of\s+(\d+)$")
_DOT_LEADER = re.compile(r"(\.{5,}|…{3,})\s*\d*\s*$")
_BULLETS = "\u2022\uf0b7\uf0a7\u25aa\u25cf\uf076\uf0d8"


@dataclass(slots=True)
class Paragraph:
    page: int  # printed page where the paragraph starts
    text: str
    bold: bool = False  # mostly bold: a narrative change of this fiscal year


@dataclass(slots=True)
class GuidelineSection:
    id: str  # "I.C.4.a.3", "II.H", "Appendix I", "Introduction"
    title: str
    level: int  # 0 introduction, 1 Section/Appendix ... 7 "(i)"
    parent_id: str | None
    page_start: int  # printed page of the heading
    page_end: int  # last printed page of the section, its subsections included
    paragraphs: list[Paragraph] = field(default_factory=list)  # own text, before any subsection
    changes: list[str] = field(default_factory=list)  # bold passages (narrative changes)
    in_toc: bool = False

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)

    @property
    def bold(self) -> bool:
        """True when the section contains narrative changes (bold text) of this edition."""
        return bool(self.changes)


@dataclass(slots=True)
class GuidelineChunk:
    section_id: str
    title: str
    page: int  # printed page where the chunk starts
    text: str
    index: int  # 0-based position of the chunk within its section
    path: list[str] = field(default_factory=list)  # titles from the top section down to this one
    bold: bool = False  # the chunk contains narrative-change text


@dataclass(slots=True)
class _Span:
    text: str
    bold: bool
    italic: bool
    size: float


@dataclass(slots=True)
class _Line:
    page: int
    x0: float
    x1: float
    y0: float
    y1: float
    spans: list[_Span]

    @property
    def text(self) -> str:
        return " ".join("".join(s.text for s in self.spans).split())

    @property
    def size(self) -> float:
        return max(s.size for s in self.spans)


# --------------------------------------------------------------------------- reading the PDF


def _open(path: Path) -> pymupdf.Document:
    if not path.is_file():
        raise SourceError(path, "file not found")
    with open(path, "rb") as fh:
        head = fh.read(5)
        fh.seek(max(0, path.stat().st_size - 1024))
        tail = fh.read()
    if head != b"%PDF-":
        raise SourceError(path, "not a PDF file (no %PDF- header)")
    if b"%%EOF" not in tail:
        # PyMuPDF silently repairs a cut-off file; a guideline book with missing pages must not pass.
        raise SourceError(path, "truncated PDF: no %%EOF marker at the end of the file")
    try:
        doc = pymupdf.open(path)
    except Exception as exc:  # pymupdf raises its own FileDataError and friends
        raise SourceError(path, f"not a readable PDF ({exc})") from exc
    if doc.is_encrypted:
        raise SourceError(path, "the PDF is encrypted")
    if doc.page_count == 0:
        raise SourceError(path, "no pages could be read (truncated or damaged PDF)")
    return doc


def _page_lines(
    path: Path, doc: pymupdf.Document, index: int
) -> tuple[list[_Line], int | None, int | None]:
    """Visual lines of one page without running header/footer, and the footer's "Page N of M"."""
    try:
        page = doc[index]
        data = page.get_text("dict")
        height = page.rect.height
    except Exception as exc:
        raise SourceError(
            path, f"page {index + 1} cannot be read ({exc}); is the file truncated?"
        ) from exc
    raw: list[tuple[float, float, float, float, list[_Span]]] = []
    for block in data.get("blocks", []):
        for line in block.get("lines", []):
            spans: list[_Span] = []
            last_x1: float | None = None
            for s in line["spans"]:
                if not s["text"].strip():
                    continue
                if (
                    last_x1 is not None
                    and s["bbox"][0] - last_x1 > 1.5
                    and not s["text"][0].isspace()
                ):
                    spans.append(
                        _Span(" ", False, False, s["size"])
                    )  # a tab stop between marker and title
                spans.append(
                    _Span(
                        s["text"],
                        "Bold" in s["font"] or bool(s["flags"] & 16),
                        "Ital" in s["font"],
                        round(s["size"], 1),
                    )
                )
                last_x1 = s["bbox"][2]
            if spans:
                x0, y0, x1, y1 = line["bbox"]
                raw.append((x0, y0, x1, y1, spans))
    # PyMuPDF splits a heading's marker ("1.") and its title into separate lines: merge lines whose
    # vertical centres agree, left to right, into one visual line.
    raw.sort(key=lambda r: ((r[1] + r[3]) / 2, r[0]))
    merged: list[_Line] = []
    for x0, y0, x1, y1, spans in raw:
        mid = (y0 + y1) / 2
        last = merged[-1] if merged else None
        if last and abs((last.y0 + last.y1) / 2 - mid) < 3.5:
            if x0 >= last.x1 - 1:
                last.spans.append(_Span(" ", False, False, spans[0].size))
                last.spans.extend(spans)
            else:
                last.spans[:0] = [*spans, _Span(" ", False, False, spans[0].size)]
            last.x0, last.x1 = min(last.x0, x0), max(last.x1, x1)
            continue
        merged.append(_Line(index + 1, x0, x1, y0, y1, list(spans)))
    printed = total = None
    body: list[_Line] = []
    for line in merged:
        text = line.text
        footer = _FOOTER_PAGE.match(text)
        if footer and line.y0 > height * 0.85:
            printed, total = int(footer.group(1)), int(footer.group(2))
            continue
        if line.y0 > height * 0.88 and (
            text.startswith("ICD-10-CM Official Guidelines") or re.fullmatch(r"FY \d{4}", text)
        ):
            continue  # running footer
        body.append(line)
    return body, printed, total


def _read_lines(path: Path, doc: pymupdf.Document) -> list[_Line]:
    lines: list[_Line] = []
    declared: set[int] = set()
    for index in range(doc.page_count):
        page_lines, printed, total = _page_lines(path, doc, index)
        if total is not None:
            declared.add(total)
        if printed is not None:
            for line in page_lines:
                line.page = printed
        # Table-of-contents pages: dot leaders on many lines. Their text is not guideline text.
        if sum(1 for ln in page_lines if _DOT_LEADER.search(ln.text)) >= 5:
            continue
        lines.extend(page_lines)
    if declared and max(declared) > doc.page_count:
        raise SourceError(
            path,
            f"truncated: its footers count {max(declared)} pages, the file has {doc.page_count}",
        )
    return lines


# --------------------------------------------------------------------------- headings


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _next_value(level: int, value: str) -> str:
    """The marker value that follows `value` at `level` ("?" when there is none)."""
    if level in (1, 7):  # roman numerals: Section I, II … and (i), (ii) …
        low = value.lower()
        if low not in _ROMAN[:-1]:
            return "?"
        following = _ROMAN[_ROMAN.index(low) + 1]
        return following.upper() if level == 1 else following
    if value.isdigit():
        return str(int(value) + 1)
    return chr(ord(value) + 1)


_FIRST = {1: "I", 2: "A", 3: "1", 4: "a", 5: "1", 6: "a", 7: "i"}


@dataclass(slots=True)
class _TocEntry:
    level: int
    title: str
    page: int
    key: str  # normalised title without its marker
    matched: bool = False


def _toc_entries(doc: pymupdf.Document) -> list[_TocEntry]:
    entries = []
    for level, title, page in doc.get_toc(simple=True):
        bare = title
        for pattern in _MARKERS.values():
            m = pattern.match(title.strip())
            if m:
                bare = title.strip()[m.end() :]
                break
        entries.append(_TocEntry(level, " ".join(title.split()), page, _norm(bare)))
    return entries


def _is_bold_title(line: _Line, marker_end: int) -> bool:
    """The text after the marker is set in bold (headings) — not italic cross-references."""
    seen = 0
    for span in line.spans:
        seen += len(span.text)
        if seen <= marker_end or not span.text.strip() or not any(c.isalpha() for c in span.text):
            continue
        return span.bold and not span.italic
    return False


class _Builder:
    """Walks visual lines in reading order and builds the section tree."""

    def __init__(self, path: Path, toc: list[_TocEntry]) -> None:
        self.path = path
        self.toc = toc
        self.toc_pos = 0
        self.sections: list[GuidelineSection] = []
        self.stack: list[tuple[int, str, GuidelineSection]] = []  # (level, marker value, section)
        self.current: GuidelineSection | None = None
        self.pending: list[_Line] = []  # body lines of the current section

    # -- TOC helpers
    def _toc_match(self, text: str, page: int) -> _TocEntry | None:
        """The next unmatched TOC entry (or one a few ahead) whose title starts this line."""
        key = _norm(text)
        for entry in self.toc[self.toc_pos : self.toc_pos + 4]:
            if entry.matched or abs(entry.page - page) > 1 or not entry.key:
                continue
            probe = entry.key[: max(12, min(len(entry.key), len(key)))]
            if key.startswith(probe) or (len(key) >= 12 and entry.key.startswith(key)):
                return entry
        return None

    def _consume_toc(self, entry: _TocEntry) -> None:
        entry.matched = True
        while self.toc_pos < len(self.toc) and self.toc[self.toc_pos].matched:
            self.toc_pos += 1

    # -- heading detection
    def _candidates(self) -> list[tuple[int, str]]:
        """(level, marker value) pairs that may legally come next."""
        out: list[tuple[int, str]] = []
        if self.stack:
            # Siblings first: after "(h)" a "(i)" continues the letters rather than opening romans.
            for level, value, _ in reversed(self.stack):
                out.append((level, _next_value(level, value)))
            deepest = self.stack[-1][0]
            if deepest < 7:
                out.append((deepest + 1, _FIRST[deepest + 1]))
        out.append((1, "I") if not any(level == 1 for level, _, _ in self.stack) else (1, "?"))
        return out

    def _heading(
        self, line: _Line, following: _Line | None
    ) -> tuple[int, str, int, _TocEntry | None] | None:
        text = line.text
        found: list[tuple[int, str, int, _TocEntry | None]] = []
        for level, value in self._candidates():
            m = _MARKERS[level].match(text)
            if not m or m.group(1) != value:
                continue
            title = text[m.end() :]
            if not title or not (title[0].isupper() or title[0].isdigit() or title[0] in "“\"'"):
                continue
            entry = self._toc_match(title, line.page)
            if entry is None:
                raw = "".join(s.text for s in line.spans)
                rm = _MARKERS[level].match(raw.lstrip())
                styled = _is_bold_title(
                    line, (len(raw) - len(raw.lstrip())) + (rm.end() if rm else 0)
                )
                # Some "(i)" headings are set in plain type: a short line whose text hangs to the
                # right of its marker on the next line, as headings do and list items do not.
                hanging = (
                    level >= 6
                    and following is not None
                    and following.x0 - line.x0 >= 8
                    and len(title) < 100
                    and not title.endswith(".")
                )
                if not (styled or hanging) or (line.size < 12.5 and level < 6):
                    continue
            found.append((level, value, m.end(), entry))
        if not found:
            return None
        # "(i)" and "(v)" are both letters and roman numerals: the TOC's level decides when it can.
        for candidate in found:
            if candidate[3] is not None and candidate[3].level == candidate[0]:
                return candidate
        return found[0]

    # -- building
    def _flush(self) -> None:
        if self.current is not None:
            self.current.paragraphs, self.current.changes = _paragraphs(self.pending)
            if self.current.level == 0:  # the title page is bold by typography, not by change
                self.current.changes = []
                for para in self.current.paragraphs:
                    para.bold = False
        self.pending = []

    def _start(
        self, sid: str, title: str, level: int, parent: str | None, page: int, in_toc: bool
    ) -> GuidelineSection:
        self._flush()
        section = GuidelineSection(sid, title, level, parent, page, page, in_toc=in_toc)
        self.sections.append(section)
        self.current = section
        return section

    def _title_lines(
        self, lines: list[_Line], i: int, first: str, entry: _TocEntry | None
    ) -> tuple[str, int]:
        """The heading title, continued over following lines; returns (title, lines consumed)."""
        title, used = first, 1
        head = lines[i]
        while i + used < len(lines):
            nxt = lines[i + used]
            if nxt.page != head.page or nxt.y0 - lines[i + used - 1].y1 > 8:
                break
            if entry is not None:
                if len(_norm(title)) >= len(entry.key) or not entry.key.startswith(
                    _norm(title + nxt.text)[: len(entry.key)]
                ):
                    break
            elif not (
                head.size >= 12.5
                and abs(nxt.size - head.size) < 0.6
                and all(s.bold for s in nxt.spans if s.text.strip())
            ):
                break
            if any(_MARKERS[lv].match(nxt.text) for lv in _MARKERS):
                break
            title = f"{title} {nxt.text}"
            used += 1
        return " ".join(title.split()), used

    def run(self, lines: list[_Line]) -> list[GuidelineSection]:
        first = self.toc[0] if self.toc else None
        intro_title = (
            first.title
            if first and first.level == 1 and not _MARKERS[1].match(first.title)
            else "ICD-10-CM Official Guidelines for Coding and Reporting"
        )
        self._start(
            INTRO_ID,
            intro_title,
            0,
            None,
            lines[0].page if lines else 1,
            bool(first and first.title == intro_title),
        )
        if first and first.title == intro_title:
            self._consume_toc(first)
        i = 0
        while i < len(lines):
            line = lines[i]
            text = line.text
            appendix = _APPENDIX.match(text)
            if appendix and line.size >= 13:
                sid = f"Appendix {appendix.group(1)}"
                entry = self._toc_match(text, line.page)
                if entry:
                    self._consume_toc(entry)
                title, used = sid, 1
                # The appendix's own title is the next large line (a level-1 TOC entry of its own).
                if (
                    i + 1 < len(lines)
                    and lines[i + 1].size >= 13
                    and lines[i + 1].page == line.page
                ):
                    title = lines[i + 1].text
                    used = 2
                    follow = self._toc_match(title, line.page)
                    if follow:
                        self._consume_toc(follow)
                self.stack = []
                self.stack.append(
                    (1, "APPENDIX", self._start(sid, title, 1, None, line.page, entry is not None))
                )
                i += used
                continue
            following = lines[i + 1] if i + 1 < len(lines) else None
            head = (
                self._heading(line, following)
                if not (self.stack and self.stack[0][1] == "APPENDIX")
                else None
            )
            if head is None:
                self.pending.append(line)
                i += 1
                continue
            level, value, marker_end, entry = head
            title, used = self._title_lines(lines, i, text[marker_end:], entry)
            if entry is not None:
                self._consume_toc(entry)
            while self.stack and self.stack[-1][0] >= level:
                self.stack.pop()
            parent = self.stack[-1][2] if self.stack else None
            sid = value if level == 1 else f"{parent.id}.{value}" if parent else value
            section = self._start(
                sid, title, level, parent.id if parent else None, line.page, entry is not None
            )
            self.stack.append((level, value, section))
            i += used
        self._flush()
        return self.sections


# --------------------------------------------------------------------------- paragraphs


def _line_text(line: _Line) -> str:
    text = line.text
    if text and text[0] in _BULLETS:
        text = "• " + text[1:].lstrip()
    return text


_CODE_AT_END = re.compile(rf"\b{PROSE_CATEGORY}(\.[0-9A-Z]{{0,4}})?-$")


def _hyphen_joins(before: str, after: str) -> bool:
    """Does a line ending in '-' continue in the next line's first word? "Long-|term", "ICD-|10-CM",
    "Q00-|Q99" join; an incomplete code "T86.1-|Complications" does not."""
    if not after:
        return False
    if _CODE_AT_END.search(before):
        return bool(re.match(PROSE_START, after))  # a code range split over two lines
    return before[-2:-1].isalpha() and (after[0].islower() or after[0].isdigit())


def _paragraphs(lines: list[_Line]) -> tuple[list[Paragraph], list[str]]:
    """Group body lines into paragraphs (vertical gaps, bullets) and collect bold passages."""
    paragraphs: list[Paragraph] = []
    changes: list[str] = []
    parts: list[str] = []
    bold_chars = all_chars = 0
    run: list[str] = []  # the current bold passage
    start_page = 0
    prev: _Line | None = None
    right = max((ln.x1 for ln in lines), default=0.0)

    def close_run() -> None:
        passage = " ".join("".join(run).split())
        if len(re.findall(r"[A-Za-z]{2,}", passage)) >= 3:
            changes.append(passage)
        run.clear()

    def close_paragraph() -> None:
        nonlocal bold_chars, all_chars
        text = "".join(parts).strip()
        if text:
            paragraphs.append(
                Paragraph(start_page, text, all_chars > 0 and bold_chars / all_chars > 0.6)
            )
        parts.clear()
        bold_chars = all_chars = 0

    for line in lines:
        text = _line_text(line)
        if prev is None:
            new_paragraph = True
        elif line.page != prev.page:
            # A paragraph carries over a page break unless the last one ended a sentence.
            new_paragraph = bool(re.search(r"[.:;]$", prev.text)) or text.startswith("•")
        else:
            gap = line.y0 - prev.y1
            new_paragraph = gap > max(6.0, 0.55 * line.size) or text.startswith("•")
        if new_paragraph:
            close_paragraph()
            start_page = line.page
        elif parts:
            # Keep deliberate short lines (lists without glyph bullets) on their own line.
            joiner = (
                " " if not parts[-1].endswith("-") or not _hyphen_joins(parts[-1], text) else ""
            )
            if prev is not None and prev.x1 < right - 90 and joiner == " ":
                joiner = "\n"
            parts.append(joiner)
        parts.append(text)
        for span in line.spans:
            letters = sum(c.isalnum() for c in span.text)
            all_chars += letters
            if span.bold and letters:
                bold_chars += letters
                run.append(span.text)
            elif letters and run:
                close_run()
            elif run:
                run.append(span.text)
        if run:
            run.append(" ")
        prev = line
    if run:
        close_run()
    close_paragraph()
    return paragraphs, changes


# --------------------------------------------------------------------------- public API


def parse_guidelines_pdf(path: str | Path) -> list[GuidelineSection]:
    """Parse the Official Guidelines PDF into sections in document order.

    Raises SourceError naming the file for a missing, unreadable, truncated or unrecognised PDF;
    never returns a partial tree.
    """
    path = Path(path)
    doc = _open(path)
    try:
        toc = _toc_entries(doc)
        lines = _read_lines(path, doc)
    finally:
        doc.close()
    if not lines:
        raise SourceError(path, "no text found (a scanned or empty PDF?)")
    sections = _Builder(path, toc).run(lines)
    top = [s for s in sections if s.level == 1]
    if not any(s.id == "I" for s in top):
        raise SourceError(
            path, "no 'Section I.' heading found: not the ICD-10-CM Official Guidelines layout"
        )
    missing = [e for e in toc if not e.matched]
    if toc and len(missing) > max(3, len(toc) // 20):
        raise SourceError(
            path,
            f"{len(missing)} of {len(toc)} table-of-contents headings not found "
            f"in the text (first: {missing[0].title!r}, page {missing[0].page})",
        )
    for entry in missing:
        log.warning(
            "guidelines_pdf toc_heading_not_found path=%s title=%r page=%d",
            path,
            entry.title,
            entry.page,
        )
    _fill_page_ends(sections)
    log.info(
        "guidelines_pdf parsed path=%s sections=%d toc=%d toc_missing=%d",
        path,
        len(sections),
        len(toc),
        len(missing),
    )
    return sections


def _fill_page_ends(sections: list[GuidelineSection]) -> None:
    """page_end = the last page of the section's own text or of any of its subsections."""
    by_id = {s.id: s for s in sections}
    for section in sections:
        section.page_end = max([section.page_start, *(p.page for p in section.paragraphs)])
    for section in reversed(sections):  # children come after their parent: fold upwards
        parent = by_id.get(section.parent_id or "")
        if parent is not None:
            parent.page_end = max(parent.page_end, section.page_end)


def section_index(sections: Iterable[GuidelineSection]) -> dict[str, GuidelineSection]:
    return {s.id: s for s in sections}


def chunk_sections(
    sections: Iterable[GuidelineSection], max_chars: int = 1500
) -> Iterator[GuidelineChunk]:
    """Split each section's own text into chunks of at most ~max_chars that never cross a section.

    Paragraphs are kept whole when they fit; an "Example"/"For example" paragraph stays with the
    rule before it. A paragraph longer than max_chars is split at sentence ends.
    """
    by_id: dict[str, GuidelineSection] = {}
    for section in sections:
        by_id[section.id] = section
        path = _path(section, by_id)
        units = _units(section.paragraphs, max_chars)
        index = 0
        buf: list[tuple[int, str, bool]] = []
        size = 0
        for page, text, bold, glued in units:
            if buf and not glued and size + len(text) + 2 > max_chars:
                yield _chunk(section, buf, index, path)
                index += 1
                buf, size = [], 0
            buf.append((page, text, bold))
            size += len(text) + 2
        if buf:
            yield _chunk(section, buf, index, path)


def _path(section: GuidelineSection, by_id: dict[str, GuidelineSection]) -> list[str]:
    titles = [section.title]
    parent = by_id.get(section.parent_id or "")
    while parent is not None:
        titles.append(parent.title)
        parent = by_id.get(parent.parent_id or "")
    return titles[::-1]


_EXAMPLE = re.compile(r"^(Example|For example|Examples?:|E\.g\.|e\.g\.)", re.I)


def _units(paragraphs: list[Paragraph], max_chars: int) -> list[tuple[int, str, bool, bool]]:
    """(page, text, bold, glued-to-previous) units no longer than max_chars."""
    units: list[tuple[int, str, bool, bool]] = []
    for para in paragraphs:
        glued = bool(units) and bool(_EXAMPLE.match(para.text))
        if len(para.text) <= max_chars:
            units.append((para.page, para.text, para.bold, glued))
            continue
        piece = ""
        for sentence in re.split(r"(?<=[.;:])\s+(?=[A-Z(“\"•])", para.text):
            if piece and len(piece) + len(sentence) + 1 > max_chars:
                units.append((para.page, piece, para.bold, glued))
                glued = False
                piece = ""
            piece = f"{piece} {sentence}".strip()
            while len(piece) > max_chars:  # a single run-on sentence: hard split at a space
                cut = piece.rfind(" ", 0, max_chars)
                cut = cut if cut > max_chars // 2 else max_chars
                units.append((para.page, piece[:cut], para.bold, glued))
                glued = False
                piece = piece[cut:].strip()
        if piece:
            units.append((para.page, piece, para.bold, glued))
    return units


def _chunk(
    section: GuidelineSection, buf: list[tuple[int, str, bool]], index: int, path: list[str]
) -> GuidelineChunk:
    text = "\n\n".join(t for _, t, _ in buf)
    flat = " ".join(text.split())
    bold = any(b for _, _, b in buf) or any(c[:40] in flat for c in section.changes)
    return GuidelineChunk(section.id, section.title, buf[0][0], text, index, path, bold)
