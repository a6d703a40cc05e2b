"""Which code books this install answers from, by fiscal year: Tabular List files, and years built from
the official addenda over the year before when their full Tabular List is absent.

- A Tabular List XML: the embedded FY2026 file, `CODEDESK_TABULAR_XML` (for `CODEDESK_FISCAL_YEAR` when
  set, else the year its `<version>` names), and any `cms/fy{N}/icd10cm*tabular*.xml` under
  `CODEDESK_CMS_DATA_DIR`.
- A year N with an addenda file (`cms/fy{N}/icd10cm_order_addenda_{N}.txt` or `…codes_addenda…`), no
  Tabular List of its own, and a Tabular List for N-1: the N-1 book with the addenda's changes applied
  (`overlay`). Validity and titles are the addenda's; new codes sit under their category and
  subcategory and inherit their notes and 7th characters; instructional notes are those of N-1, and
  the book's `basis` says so in every answer built from it. A full Tabular List for N takes over.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codedesk.cache import Cache
from codedesk.cms.addenda import Addenda, CodeChange, find_addenda, parse_addenda
from codedesk.cms.codebook import (
    CodeBook,
    Deletion,
    embedded_tabular_path,
    load_codebook,
    normalize_code,
)
from codedesk.cms.tabular import TabularFile, TabularNode
from codedesk.codes import plain
from codedesk.errors import SourceError
from codedesk.settings import EMBEDDED_FISCAL_YEAR, Settings

log = logging.getLogger(__name__)

# Tabular files looked for under CODEDESK_CMS_DATA_DIR, beside the embedded FY2026 default.
CMS_TABULAR = {"2025": "cms/fy2025/icd10cm-tabular-April-2025.xml"}
# The code a cached overlay book depends on (the base book's own entry has its own key).
_OVERLAY_CODE = (
    "codedesk.cms.books",
    "codedesk.cms.addenda",
    "codedesk.cms.codebook",
    "codedesk.cms.tabular",
    "codedesk.codes",
)
_VERSION_RE = re.compile(r"<version>\s*(20\d\d)\s*</version>")


@dataclass(frozen=True, slots=True)
class BookSource:
    """Where one year's code book comes from: a Tabular List, or the year before plus its addenda."""

    fiscal_year: str
    tabular: Path  # the year's Tabular List XML, or the base year's for an overlay
    addenda: Path | None = None
    base_year: str | None = None  # the Tabular List's year when `addenda` is applied over it

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.fiscal_year, str(self.tabular), str(self.addenda or ""), self.base_year or "")


def tabular_paths(settings: Settings) -> dict[str, Path]:
    """{fiscal year: Tabular XML}: the embedded FY2026 file, CODEDESK_TABULAR_XML, cms/fy{N}/ files."""
    paths: dict[str, Path] = {EMBEDDED_FISCAL_YEAR: embedded_tabular_path()}
    if settings.tabular_xml:
        fy = (
            settings.fiscal_year_set
            or tabular_version(settings.tabular_xml)
            or settings.fiscal_year
        )
        paths[fy] = settings.tabular_xml
    if settings.cms_data_dir:
        for fy, rel in CMS_TABULAR.items():
            path = settings.cms_data_dir / rel
            if path.is_file() and fy not in paths:
                paths[fy] = path
        root = settings.cms_data_dir / "cms"
        for folder in sorted(root.glob("fy20[0-9][0-9]")) if root.is_dir() else []:
            fy = folder.name[2:]
            found = sorted(
                folder.glob("icd10cm*tabular*.xml"),
                key=lambda p: ("april" not in p.name.lower(), p.name),
            )
            if found and fy not in paths:
                paths[fy] = found[0]
    return paths


def tabular_version(path: Path) -> str | None:
    """The fiscal year a Tabular List XML names in its `<version>` (read from its first lines)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    m = _VERSION_RE.search(head)
    return m.group(1) if m else None


def book_sources(settings: Settings) -> dict[str, BookSource]:
    """Every year a code book can be built for: Tabular Lists, then addenda years over the year before."""
    out = {fy: BookSource(fy, path) for fy, path in tabular_paths(settings).items()}
    for fy, addenda in sorted(find_addenda(settings.cms_data_dir).items()):
        base = str(int(fy) - 1)
        if fy not in out and base in out and out[base].addenda is None:
            out[fy] = BookSource(fy, out[base].tabular, addenda, base)
    return dict(sorted(out.items()))


def load_book(source: BookSource, cache_dir: Path | None) -> CodeBook:
    if source.addenda is None:
        return load_codebook(source.tabular, cache_dir, source.fiscal_year)
    files = (str(source.tabular), str(source.addenda))
    stamp = tuple(
        (st.st_size, st.st_mtime_ns) for st in (Path(f).stat() for f in files)
    )  # a changed file: rebuild
    return _overlay_book(
        files[0],
        source.base_year or "",
        files[1],
        source.fiscal_year,
        str(cache_dir) if cache_dir else None,
        stamp,
    )


def load_books(settings: Settings, years: list[str] | None = None) -> dict[str, CodeBook]:
    return {
        fy: load_book(src, settings.cache_dir)
        for fy, src in book_sources(settings).items()
        if years is None or fy in years
    }


# ---- a year from the addenda ------------------------------------------------------------------------
def basis_text(fiscal_year: str, base_year: str, addenda_name: str) -> str:
    return (
        f"ICD-10-CM FY{fiscal_year} from the official addenda ({addenda_name}) applied to the FY{base_year} "
        f"Tabular List; instructional notes as of FY{base_year}."
    )


def untitled_header(code: str, fiscal_year: str) -> str:
    return f"{code} (new header in FY{fiscal_year}; its title is not in the codes addenda)"


@lru_cache(maxsize=4)
def _overlay_book(
    tabular: str,
    base_year: str,
    addenda: str,
    fiscal_year: str,
    cache_dir: str | None,
    stamp: tuple[tuple[int, int], ...],
) -> CodeBook:
    """Cached on both files (path, size, mtime; `stamp` keys the process-wide cache the same way) and the
    code that builds it: a new addenda or Tabular file rebuilds it."""
    start = time.perf_counter()

    def build() -> CodeBook:
        base = load_codebook(tabular, Path(cache_dir) if cache_dir else None, base_year)
        return overlay(base, parse_addenda(addenda), fiscal_year)

    cache = Cache(
        cache_dir,
        f"codebook-overlay-{fiscal_year}",
        inputs=[tabular, addenda],
        code=_OVERLAY_CODE,
        extra=f"{fiscal_year}|{base_year}",
    )
    book = cache.get(build, kind=CodeBook)
    log.info(
        "overlay book fy=%s base=%s addenda=%s seconds=%.2f",
        fiscal_year,
        base_year,
        Path(addenda).name,
        time.perf_counter() - start,
    )
    return book


def overlay(base: CodeBook, addenda: Addenda, fiscal_year: str) -> CodeBook:
    """The `base` book with the addenda's changes applied: the code book of `fiscal_year`."""
    return _Overlay(base, addenda, fiscal_year).build()


class _Overlay:
    def __init__(self, base: CodeBook, addenda: Addenda, fiscal_year: str) -> None:
        self.base, self.addenda, self.fy = base, addenda, fiscal_year
        self.path = Path(addenda.path)
        # Nodes are copied with their own child lists; note dicts are shared (never changed here).
        self.nodes = {
            c: TabularNode(
                n.code,
                n.kind,
                n.title,
                n.parent,
                n.chapter,
                n.depth,
                list(n.children),
                n.notes,
                n.seventh,
            )
            for c, n in base.nodes.items()
        }
        self.gone: dict[str, str] = {}  # deleted code -> its title before
        self.removed_seventh: dict[str, set[str]] = {}  # base code -> 7th characters deleted
        self.added: list[str] = []  # reportable codes added (7th-character forms included)
        self.touched: set[str] = set()  # parents given new children

    def fail(self, change: CodeChange, why: str) -> SourceError:
        return SourceError(self.path, f"{change.code}: {why}", line=change.line)

    def build(self) -> CodeBook:
        changes = self.addenda.changes
        for c in changes:  # headers first (order layout only): the codes below may need them
            if (
                c.header and c.action == "add"
            ):  # a new header, or a code that becomes one (its title may change)
                self._ensure(c.code, c, title=c.title).title = c.title
            elif c.header and c.action == "revise":
                self._node(c).title = c.title
        for c in changes:
            if not c.header and c.action == "delete":
                self._delete(c)
        for c in changes:
            if not c.header and c.action == "add":
                self._add(c)
        for c in changes:
            if not c.header and c.action == "revise":
                self._revise(c)
        self._drop_gone()
        for c in changes:
            if (
                c.header
                and c.action == "delete"
                and c.code in self.nodes
                and not self.nodes[c.code].children
            ):
                self._remove(c.code)
        for code in self.touched:
            node = self.nodes.get(code)
            if node is not None and node.kind not in ("chapter", "block"):
                node.children.sort(key=plain)
            elif node is not None:
                node.children.sort()
        order: list[str] = []
        stack = [c for c in reversed(self.base.order) if self.base.nodes[c].kind == "chapter"]
        while stack:
            code = stack.pop()
            order.append(code)
            stack.extend(reversed(self.nodes[code].children))
        book = CodeBook(TabularFile(self.fy, str(self.path), self.nodes, order))
        book.basis = basis_text(self.fy, self.base.fiscal_year, self.path.name)
        book.source_files = (
            self.base.source_path,
            str(self.path),
        )  # caches built from the book key on both
        book.deleted = self._deletions(book)
        return book

    # ---- changes ----------------------------------------------------------------------------------
    def _node(self, c: CodeChange) -> TabularNode:
        node = self.nodes.get(c.code)
        if node is None:
            raise self.fail(c, f"not in the FY{self.base.fiscal_year} Tabular List")
        return node

    def _seventh_of(self, code: str) -> tuple[str, str, str] | None:
        """(base, 7th character, its meaning) when a 7-character code is a base plus a 7th character."""
        p = plain(code)
        if len(p) != 7:
            return None
        base = normalize_code(p[:6].rstrip("X"))
        holder = self._nearest(base)
        defs = self._defs(holder) if holder else None
        if not defs or p[6] not in defs:
            return None
        return base, p[6], defs[p[6]]

    def _nearest(self, code: str) -> str | None:
        """The code itself or its nearest existing ancestor by prefix (K6A.01 -> K6A.0 -> K6A)."""
        p = plain(code)
        for cut in range(len(p), 2, -1):
            cand = normalize_code(p[:cut])
            if cand in self.nodes:
                return cand
        return None

    def _defs(self, code: str) -> dict[str, str] | None:
        node = self.nodes.get(code)
        while node is not None:
            if node.seventh:
                return node.seventh
            node = self.nodes.get(node.parent) if node.parent else None
        return None

    def _delete(self, c: CodeChange) -> None:
        if c.code in self.nodes and not self.nodes[c.code].children:
            self.gone[c.code] = self.nodes[c.code].title
            return
        info = self.base.lookup(c.code)
        if info.reportable and info.base:
            self.removed_seventh.setdefault(info.base, set()).add(info.seventh_char or "")
            self.gone[c.code] = info.title
            return
        raise self.fail(
            c,
            f"deleted by the addenda but not a reportable FY{self.base.fiscal_year} code "
            f"({info.reason or 'a header'})",
        )

    def _add(self, c: CodeChange) -> None:
        self.added.append(c.code)
        seventh = self._seventh_of(c.code)
        if seventh is None:
            node = self._ensure(c.code, c, title=c.title)
            if node.children:
                raise self.fail(c, "added as a code but a header in the code book")
            node.title = c.title
            self.gone.pop(c.code, None)  # deleted and added back: a code again
            return
        base, _char, meaning = seventh
        suffix = f", {meaning}"
        title = c.title[: -len(suffix)] if c.title.endswith(suffix) else None
        if title is None:
            raise self.fail(c, f"title does not end with its 7th character's meaning '{meaning}'")
        node = self._ensure(base, c, title=title)
        if node.children:
            raise self.fail(c, f"{base} is a header: a 7th character goes only on a code")
        if base in self.gone and base not in self.removed_seventh:
            raise self.fail(c, f"{base} was deleted as a code")
        if node.title != title and base not in self._new_bases:
            raise self.fail(c, f"title of {base} differs between its 7th characters")
        node.title = title
        self._new_bases.add(base)

    @property
    def _new_bases(self) -> set[str]:
        bases: set[str] = self.__dict__.setdefault("_bases", set())
        return bases

    def _revise(self, c: CodeChange) -> None:
        if c.code in self.nodes:
            self.nodes[c.code].title = c.title
            return
        seventh = self._seventh_of(c.code)
        if seventh is None:
            raise self.fail(c, "revised by the addenda but not in the code book")
        base, _char, meaning = seventh
        suffix = f", {meaning}"
        if not c.title.endswith(suffix):
            raise self.fail(
                c, f"revised title does not end with its 7th character's meaning '{meaning}'"
            )
        self.nodes[base].title = c.title[
            : -len(suffix)
        ]  # a base's title is shared by its 7th characters

    def _ensure(self, code: str, c: CodeChange, title: str) -> TabularNode:
        """The node of `code`, created with any missing header between it and its nearest ancestor."""
        node = self.nodes.get(code)
        if node is not None:
            return node
        p = plain(code)
        if len(p) == 3:
            parent = self._block_for(code, c)
        else:
            parent = normalize_code(p[:-1])
            self._ensure(parent, c, untitled_header(parent, self.fy))
        up = self.nodes[parent]
        if up.kind == "code":
            up.kind = "subcategory"  # a code that gains children is now a header
        kind = "category" if len(p) == 3 else "code"
        node = TabularNode(code, kind, title, parent, up.chapter, up.depth + 1)
        self.nodes[code] = node
        up.children.append(code)
        self.touched.add(parent)
        return node

    def _block_for(self, category: str, c: CodeChange) -> str:
        """A new category goes in the block whose range covers it, else the last block of its letter that
        starts before it (K6A after K65-K68, QA1 after QA0-QA0: CMS extends the block's range)."""
        best, best_first = None, ""
        for key, node in self.nodes.items():
            if node.kind != "block" or "-" not in key:
                continue
            first, last = (plain(k)[:3] for k in key.split("-", 1))
            if first[0] != category[0]:
                continue
            if first <= category <= last:
                return key
            if first <= category and first > best_first:
                best, best_first = key, first
        if best is None:
            raise self.fail(
                c, f"no block of the FY{self.base.fiscal_year} Tabular List for category {category}"
            )
        return best

    def _drop_gone(self) -> None:
        for base, chars in self.removed_seventh.items():
            node = self.nodes.get(base)
            defs = self._defs(base) or {}
            own = self.base.seventh_defs(base)
            allowed = set(own[0]) if own else set(defs)
            if (
                chars >= allowed
            ):  # every 7th character gone: the base goes, unless it is now a header
                if node is not None and not node.children and base not in self._new_bases:
                    self._remove(base)
            elif chars:
                raise SourceError(
                    self.path,
                    f"{base}: the addenda delete only some of its 7th characters "
                    f"({', '.join(sorted(chars))}); a code book cannot say that",
                )
        for code in self.gone:
            node = self.nodes.get(code)
            if node is not None and not node.children:
                self._remove(code)

    def _remove(self, code: str) -> None:
        """Remove a node, and each header left without children above it."""
        node = self.nodes.pop(code, None)
        if node is None:
            return
        parent = self.nodes.get(node.parent) if node.parent else None
        if parent is None:
            return
        parent.children.remove(code)
        if not parent.children and parent.kind not in ("chapter", "block"):
            self._remove(parent.code)

    def _deletions(self, book: CodeBook) -> dict[str, Deletion]:
        added = {normalize_code(a) for a in self.added}
        out: dict[str, Deletion] = {}
        for code, title in self.gone.items():
            node = book.nodes.get(code)
            if node is not None and node.children:
                out[code] = Deletion(
                    code, title, self.fy, tuple(_reportable_under(book, code)), True
                )
                continue
            out[code] = Deletion(code, title, self.fy, tuple(self._successors(book, code, added)))
        return out

    def _successors(self, book: CodeBook, code: str, added: set[str]) -> list[str]:
        """New codes under the deleted code's nearest surviving ancestor that agree with it wherever it is
        specific (T52.8X1A -> T52.811A, T52.821A, T52.891A: the same 6th and 7th characters)."""
        p = plain(code)
        for cut in range(len(p) - 1, 2, -1):
            anc = normalize_code(p[:cut])
            if anc in book.nodes:
                break
        else:
            return []
        out = []
        for new in _reportable_under(book, anc):
            q = plain(new)
            if (
                new in added
                and len(q) == len(p)
                and all(a == b for a, b in zip(p[cut:], q[cut:], strict=True) if a != "X")
            ):
                out.append(new)
        return out


def _reportable_under(book: CodeBook, code: str) -> list[str]:
    """Every reportable code under a header, every 7th character."""
    return [c for leaf in book.leaves_under(code) for c in book.reportable_forms(leaf)]
