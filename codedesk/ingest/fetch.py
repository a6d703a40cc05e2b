"""`codedesk fetch`: download official CMS files into CODEDESK_CMS_DATA_DIR, verify them, install them.

Only `cms:` sources with a download address are fetched; `--year N` takes the sources in effect during
fiscal year N (its ICD-10 files and the HCPCS quarter that starts with it). Each address is downloaded
once per run (one ZIP holds the Tabular List, the Index and both tables). A ZIP's member is found by
name whatever its folder, case, and `-` or `_` (CMS changed its naming in FY2026).

Every file is verified before it replaces anything: by its recorded sha256, or else by its own content
(the addenda trailer's counts, the fiscal year an XML file or the Guidelines PDF states, the records of a
code file). It is written to a temporary name and moved into place only once verified, so a failed or
wrong download never replaces a good file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import logging
import re
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from codedesk.errors import SourceError
from codedesk.ingest.manifest import Source

log = logging.getLogger(__name__)
MAX_BYTES = 500 * 2**20


class FetchError(Exception):
    """A download that cannot be used: not reachable, not the expected file, or not what it says it is."""


@dataclass(slots=True)
class FetchResult:
    source_id: str
    ok: bool
    message: str
    path: Path | None = None


class Downloads:
    """Each address downloaded at most once per run; a failure is remembered too."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._got: dict[str, bytes | FetchError] = {}

    def get(self, url: str) -> bytes:
        if url not in self._got:
            try:
                self._got[url] = _download(url, self.timeout)
            except (urllib.error.URLError, TimeoutError, OSError, ValueError) as err:
                self._got[url] = FetchError(
                    f"could not download {url} ({getattr(err, 'reason', err)})"
                )
        got = self._got[url]
        if isinstance(got, FetchError):
            raise got
        return got


def _download(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "codedesk-fetch/1"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        data = resp.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 2**20} MB")
    return data


def _normal(name: str) -> str:
    return Path(name).name.lower().replace("-", "_")


def extract_member(data: bytes, member: str, url: str) -> bytes:
    """The one file of the ZIP whose name matches `member` (any folder, case, - or _, * wildcards)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            want = _normal(member)
            found = [
                n
                for n in zf.namelist()
                if not n.endswith("/") and fnmatch.fnmatchcase(_normal(n), want)
            ]
            if not found:
                raise FetchError(f"{member} is not in {url}")
            if len({zf.getinfo(n).CRC for n in found}) > 1:
                raise FetchError(f"several files of {url} match {member}: {', '.join(found)}")
            return zf.read(found[0])
    except zipfile.BadZipFile:
        raise FetchError(f"{url} is not a valid ZIP file") from None


# ---- verification by the file's own content --------------------------------------------------------
_TRAILER_FILE = re.compile(
    r"^\s*([\d,]+)\s+(codes|headers) in \S+?_(\d{4})\.txt\s*$", re.IGNORECASE
)
_TRAILER_COUNT = re.compile(r"^\s*([\d,]+)\s+(additions|deletions|revisions)\s*$")
_CHANGE = {"Add:": "additions", "Delete:": "deletions", "Revise to:": "revisions"}
_PCS_LINE = re.compile(r"^[0-9A-HJ-NP-Z]{7}\s+\S")
_XML_ROOT = {
    "tabular": "ICD10CM.tabular",
    "index": "ICD10CM.index",
    "external_cause_index": "ICD10CM.index",
    "drug_table": "ICD10CM.index",
    "neoplasm_table": "ICD10CM.index",
}


def _text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def check_addenda(path: Path, fiscal_year: str | None) -> str:
    """The trailer states, per block (Codes, and Headers in the order layout), how many codes the old and
    new order files hold and how many additions, deletions and revisions there are: the listed changes
    must add up to both, and the new file must be of the fiscal year expected."""
    stated: dict[str, dict[str, int]] = {}
    years: dict[str, list[str]] = {}
    listed: dict[str, Counter[str]] = {}
    block = "Codes"
    for line in _text(path).splitlines():
        head = line[:13].strip()
        if head in _CHANGE or head == "Revise from:":
            if head in _CHANGE:  # order layout: flag 0 = header, 1 = code; codes layout: codes only
                flag = line[13:15]
                listed.setdefault("Headers" if flag == "0 " else "Codes", Counter())[
                    _CHANGE[head]
                ] += 1
            continue
        if line.strip() in ("Codes", "Headers"):
            block = line.strip()
        elif m := _TRAILER_FILE.match(line):  # first the old order file, then the new one
            seen = years.setdefault(block, [])
            stated.setdefault(block, {})[f"files{len(seen)}"] = int(m.group(1).replace(",", ""))
            seen.append(m.group(3))
        elif m := _TRAILER_COUNT.match(line):
            stated.setdefault(block, {})[m.group(2)] = int(m.group(1).replace(",", ""))
    codes = stated.get("Codes", {})
    if not {"files0", "files1", "additions", "deletions"} <= codes.keys():
        raise FetchError(
            'no trailer with the code counts ("N codes in icd10cm_order_YYYY.txt", '
            '"N additions"): not an addenda file, or truncated'
        )
    old_year, new_year = years["Codes"][:2]
    if fiscal_year and (new_year != fiscal_year or int(old_year) != int(fiscal_year) - 1):
        raise FetchError(
            f"the trailer describes FY{old_year} to FY{new_year}, not FY{int(fiscal_year) - 1} "
            f"to FY{fiscal_year}"
        )
    for name, counts in stated.items():
        got = listed.get(name, Counter())
        for action in ("additions", "deletions", "revisions"):
            if action in counts and got[action] != counts[action]:
                raise FetchError(
                    f"the trailer counts {counts[action]} {action} ({name.lower()}), the file lists "
                    f"{got[action]}: truncated or damaged"
                )
        if (
            "files1" in counts
            and counts["files1"] - counts["files0"] != got["additions"] - got["deletions"]
        ):
            raise FetchError(
                f"{name.lower()}: {counts['files0']:,} → {counts['files1']:,} in the order files does "
                f"not match {got['additions']} additions and {got['deletions']} deletions"
            )
    got = listed.get("Codes", Counter())
    return (
        f"addenda trailer agrees: {got['additions']} added, {got['deletions']} deleted, {got['revisions']} "
        f"revised; {codes['files0']:,} codes in FY{old_year} → {codes['files1']:,} in FY{new_year}"
    )


def check_xml(path: Path, kind: str, fiscal_year: str | None) -> str:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as err:
        raise FetchError(f"not well-formed XML ({err})") from None
    if root.tag != _XML_ROOT[kind]:
        raise FetchError(f"root element <{root.tag}>, expected <{_XML_ROOT[kind]}>")
    version = (root.findtext("version") or "").strip()
    if fiscal_year and version != fiscal_year:
        raise FetchError(
            f"the file says <version>{version or '?'}</version>, expected {fiscal_year}"
        )
    if kind == "tabular":
        n, what = sum(1 for _ in root.iter("diag")), "diag entries"
    else:
        n, what = sum(1 for _ in root.iter("mainTerm", "term")), "index entries"
    if not n:
        raise FetchError(f"no {what}")
    return f"XML version {version}, {n:,} {what}"


def check_pdf(path: Path, fiscal_year: str | None) -> str:
    import pymupdf

    with open(path, "rb") as fh:
        if fh.read(5) != b"%PDF-":
            raise FetchError("not a PDF file (an error page?)")
    try:
        with pymupdf.open(path, filetype="pdf") as doc:
            pages = doc.page_count
            title = " ".join(doc[i].get_text() for i in range(min(2, pages)))
    except (
        RuntimeError,
        ValueError,
    ) as err:  # pymupdf raises FileDataError (a RuntimeError) on a broken file
        raise FetchError(f"not a readable PDF ({err})") from None
    if fiscal_year and not re.search(rf"\bFY\s*{fiscal_year}\b", title):
        raise FetchError(f"the title page does not name FY {fiscal_year}")
    return f"PDF of {pages} pages, title page names FY {fiscal_year}"


def check_pcs(path: Path) -> str:
    n = 0
    for number, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        if not _PCS_LINE.match(line):
            raise FetchError(f"line {number} is not an ICD-10-PCS code and title")
        n += 1
    if not n:
        raise FetchError("no codes")
    return f"{n:,} ICD-10-PCS codes"


def check_hcpcs(path: Path) -> str:
    from codedesk.cms.hcpcs import parse_hcpcs

    try:
        codes = parse_hcpcs(path)
    except SourceError as err:
        raise FetchError(str(err)) from None
    if not codes:
        raise FetchError("no HCPCS records")
    return f"{len(codes):,} HCPCS Level II codes and modifiers"


def check_content(source: Source, path: Path) -> str:
    """What the file says about itself, checked; raises FetchError when it is not the file expected."""
    if source.kind == "addenda":
        return check_addenda(path, source.fiscal_year)
    if source.kind in _XML_ROOT:
        return check_xml(path, source.kind, source.fiscal_year)
    if source.kind == "guidelines_pdf":
        return check_pdf(path, source.fiscal_year)
    if source.kind == "pcs":
        return check_pcs(path)
    if source.kind == "hcpcs":
        return check_hcpcs(path)
    return "no content check for this kind"


# ---- fetching ------------------------------------------------------------------------------------
def _get(source: Source, downloads: Downloads) -> tuple[str, bytes]:
    """(address used, file bytes) from the first address that has the file."""
    errors: list[str] = []
    for url in (source.url, *source.also_at):
        assert url is not None
        try:
            data = downloads.get(url)
            return url, extract_member(
                data, source.archive_member, url
            ) if source.archive_member else data
        except FetchError as err:
            errors.append(str(err))
    raise FetchError("; ".join(errors))


def fetch_source(
    source: Source, dest_root: Path, *, timeout: float = 30.0, downloads: Downloads | None = None
) -> FetchResult:
    if source.scheme != "cms" or not source.url:
        return FetchResult(
            source.id, True, "nothing to fetch (shipped with a package or the repository)"
        )
    dest = dest_root / source.relative_path
    by_hand = (
        f"Check the network or download it by hand from {source.page or source.url} into {dest}"
        + (f" (manifest note: {source.note})" if source.note else "")
    )
    try:
        url, data = _get(source, downloads or Downloads(timeout))
    except FetchError as err:
        return FetchResult(source.id, False, f"{err}. {by_hand}")
    digest = hashlib.sha256(data).hexdigest()
    if source.sha256 and digest != source.sha256:
        return FetchResult(
            source.id,
            False,
            f"checksum mismatch for {url}: expected {source.sha256[:12]}…, "
            f"got {digest[:12]}…; the file was not saved",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    try:
        verified = (
            "checksum verified"
            if source.sha256
            else f"no checksum recorded; {check_content(source, tmp)}"
        )
    except FetchError as err:
        tmp.unlink(missing_ok=True)
        return FetchResult(
            source.id, False, f"{url} is not the expected file: {err}; the file was not saved"
        )
    tmp.replace(dest)
    log.info("fetch saved id=%s url=%s path=%s bytes=%d", source.id, url, dest, len(data))
    return FetchResult(source.id, True, f"saved {dest} ({len(data):,} bytes, {verified})", dest)


def select(
    sources: list[Source], *, only: list[str] | None = None, year: str | None = None
) -> list[Source]:
    """The sources to fetch: the ids named, and/or those in effect during fiscal year `year`; all without either."""
    if only:
        unknown = set(only) - {s.id for s in sources}
        if unknown:
            raise ValueError(f"no source with id {', '.join(sorted(unknown))} in the manifest")
    return [s for s in sources if (not only or s.id in only) and (not year or s.overlaps(year))]


def fetch_all(
    sources: list[Source],
    dest_root: Path,
    *,
    only: list[str] | None = None,
    year: str | None = None,
    timeout: float = 30.0,
) -> list[FetchResult]:
    downloads = Downloads(timeout)
    return [
        fetch_source(s, dest_root, timeout=timeout, downloads=downloads)
        for s in select(sources, only=only, year=year)
    ]
