"""The source manifest (`guidelines/sources.toml`): typed records and where each source is on disk.

A location names where a source comes from, never an absolute path:
`package:<import package>/<path>` (a file shipped in an installed package, found with
found without importing the package), `cms:<path>` (under the `cms_data_dir` setting, CODEDESK_CMS_DATA_DIR), or
`repo:<path>` (in this repository). `resolve()` turns a source into a path and a status without
reading the file; `verify_checksum()` compares the file with its recorded sha256.

Every source has a period of effect: an ICD-10 fiscal year N runs 1 Oct N-1 to 30 Sep N; a source
that does not follow fiscal years (HCPCS Level II quarters) states `effective_from`/`effective_to`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from codedesk.errors import SourceError
from codedesk.packages import package_file

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout: codedesk/<layer>/this file
MANIFEST_PATH = REPO_ROOT / "guidelines" / "sources.toml"
KINDS = (
    "tabular",
    "guidelines_pdf",
    "index",
    "drug_table",
    "neoplasm_table",
    "external_cause_index",
    "addenda",
    "pcs",
    "hcpcs",
    "team",
)
SCHEMES = ("package", "cms", "repo")
_FIELDS = {
    "id",
    "kind",
    "location",
    "fiscal_year",
    "title",
    "url",
    "page",
    "archive_member",
    "sha256",
    "optional",
    "effective_from",
    "effective_to",
    "note",
    "also_at",
}


def fiscal_year_period(fiscal_year: str) -> tuple[date, date]:
    """1 October N-1 and 30 September N, the first and last days of fiscal year N."""
    year = int(fiscal_year)
    return date(year - 1, 10, 1), date(year, 9, 30)


@dataclass(slots=True, frozen=True)
class Source:
    id: str
    kind: str  # one of KINDS
    location: str  # "cms:cms/fy2025/icd10cm-drug-2025.xml"
    title: str
    fiscal_year: str | None = None  # None for sources that span years (team guidelines)
    url: str | None = None  # official download
    page: str | None = None  # official page listing the download
    archive_member: str | None = None  # file inside the ZIP at `url`
    sha256: str | None = None  # of the file at `location`
    optional: bool = True
    effective_from: date | None = None  # for sources not bound to a fiscal year (HCPCS quarters)
    effective_to: date | None = None
    note: str | None = (
        None  # e.g. that the URL follows CMS's naming and was not checked against the page
    )
    also_at: tuple[str, ...] = ()  # other official addresses of the same file, tried after `url`

    @property
    def period(self) -> tuple[date, date] | None:
        """When the source is in effect: its own dates, else its fiscal year; None for the team's files."""
        if self.effective_from:
            return self.effective_from, self.effective_to or date.max
        return fiscal_year_period(self.fiscal_year) if self.fiscal_year else None

    def in_effect(self, day: date) -> bool:
        period = self.period
        return period is not None and period[0] <= day <= period[1]

    def overlaps(self, fiscal_year: str) -> bool:
        """Whether the source is in effect during some of fiscal year `fiscal_year`."""
        period, (start, end) = self.period, fiscal_year_period(fiscal_year)
        return period is not None and period[0] <= end and start <= period[1]

    @property
    def scheme(self) -> str:
        return self.location.split(":", 1)[0]

    @property
    def relative_path(self) -> str:
        return self.location.split(":", 1)[1]


@dataclass(slots=True, frozen=True)
class ResolvedSource:
    source: Source
    path: Path | None  # where the source is (or would be); None when it cannot be located at all
    status: str  # found | missing
    reason: str = ""  # why it is missing, in words a person can act on

    @property
    def found(self) -> bool:
        return self.status == "found"

    @property
    def version(self) -> str | None:
        """The installed version of the package a package source is in (None for other sources).
        Found when asked, not at resolution: it can read every installed file list (~0.5 s), which a
        process that only needs to know what is found (the answerer) should not pay."""
        if self.source.scheme != "package":
            return None
        return _package_version(self.source.relative_path.partition("/")[0])


def load_manifest(path: str | Path | None = None) -> list[Source]:
    """Read and validate the manifest; any problem is a SourceError naming the file."""
    path = Path(path) if path else MANIFEST_PATH
    if not path.is_file():
        raise SourceError(path, "source manifest not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise SourceError(
            path, f"not valid TOML ({exc})", line=int(line.group(1)) if line else None
        ) from exc
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise SourceError(path, "no [[source]] entries")
    sources: list[Source] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        where = f"[[source]] #{n}"
        unknown = set(entry) - _FIELDS
        if unknown:
            raise SourceError(path, f"{where}: unknown field(s) {sorted(unknown)}")
        for key in ("id", "kind", "location", "title"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SourceError(path, f"{where}: '{key}' is required")
        sid = entry["id"]
        if sid in seen:
            raise SourceError(path, f"{where}: id {sid!r} is used twice")
        seen.add(sid)
        if entry["kind"] not in KINDS:
            raise SourceError(
                path, f"{where} ({sid}): kind {entry['kind']!r} is not one of {', '.join(KINDS)}"
            )
        scheme, _, rel = entry["location"].partition(":")
        if scheme not in SCHEMES or not rel or rel.startswith("/") or ".." in Path(rel).parts:
            raise SourceError(
                path,
                f"{where} ({sid}): location must be package:, cms: or repo: and a relative path",
            )
        fy = entry.get("fiscal_year")
        if fy is not None and not re.fullmatch(r"\d{4}", str(fy)):
            raise SourceError(path, f'{where} ({sid}): fiscal_year must be a year like "2025"')
        digest = entry.get("sha256")
        if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise SourceError(path, f"{where} ({sid}): sha256 must be 64 lowercase hex digits")
        if not isinstance(entry.get("optional", True), bool):
            raise SourceError(path, f"{where} ({sid}): optional must be true or false")
        also = entry.get("also_at", [])
        if not isinstance(also, list) or not all(isinstance(u, str) and u.strip() for u in also):
            raise SourceError(path, f"{where} ({sid}): also_at must be a list of addresses")
        if also and not entry.get("url"):
            raise SourceError(path, f"{where} ({sid}): also_at needs url")
        dates = {
            key: _date(path, f"{where} ({sid})", key, entry.get(key))
            for key in ("effective_from", "effective_to")
        }
        if dates["effective_to"] and not dates["effective_from"]:
            raise SourceError(path, f"{where} ({sid}): effective_to needs effective_from")
        if (
            dates["effective_from"]
            and dates["effective_to"]
            and dates["effective_to"] < dates["effective_from"]
        ):
            raise SourceError(path, f"{where} ({sid}): effective_to is before effective_from")
        sources.append(
            Source(
                id=sid,
                kind=entry["kind"],
                location=entry["location"],
                title=entry["title"],
                fiscal_year=str(fy) if fy is not None else None,
                url=entry.get("url"),
                page=entry.get("page"),
                archive_member=entry.get("archive_member"),
                sha256=digest,
                optional=entry.get("optional", True),
                note=entry.get("note"),
                also_at=tuple(also),
                **dates,
            )
        )
    return sources


def _date(path: Path, where: str, key: str, value: object) -> date | None:
    """TOML dates arrive as `date`; a quoted "2026-10-01" is accepted too."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SourceError(path, f"{where}: {key} must be a date like 2026-10-01") from None


@lru_cache(maxsize=64)
def _package_version(package: str) -> str | None:
    """The installed version of the distribution that ships an import package. Tries the usual names
    first: `metadata.packages_distributions()` reads every installed file list (~1 s), once per process."""
    for name in dict.fromkeys((package, package.replace("_", "-"))):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if package in (dist.read_text("top_level.txt") or package).split():
            return dist.version
    bare = re.sub(r"[-_.]", "", package.lower())
    for (
        dist
    ) in metadata.distributions():  # what each names (cheap), before inferring from every file list
        if (
            package in (dist.read_text("top_level.txt") or "").split()
            or re.sub(r"[-_.]", "", (dist.name or "").lower()) == bare
        ):
            return dist.version
    for dist in _packages_distributions().get(package, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


@lru_cache(maxsize=1)
def _packages_distributions() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


def resolve(
    source: Source, cms_data_dir: Path | None, repo_root: Path | None = None
) -> ResolvedSource:
    """Where the source is and whether it is there; never raises for a missing file."""
    rel = source.relative_path
    if source.scheme == "package":
        package, _, inner = rel.partition("/")
        try:
            path = package_file(package, *inner.split("/"))
        except ModuleNotFoundError:
            return ResolvedSource(source, None, "missing", f"package {package!r} is not installed")
        if path.exists():
            return ResolvedSource(source, path, "found")
        version = _package_version(package)
        return ResolvedSource(
            source, path, "missing", f"{inner} is not in package {package} {version or ''}".strip()
        )
    if source.scheme == "repo":
        path = (repo_root or REPO_ROOT) / rel
        return (
            ResolvedSource(source, path, "found")
            if path.exists()
            else ResolvedSource(source, path, "missing", f"{rel} is not in the repository")
        )
    if cms_data_dir is None:
        return ResolvedSource(source, None, "missing", "CODEDESK_CMS_DATA_DIR is not set")
    path = Path(cms_data_dir) / rel
    if path.exists():
        return ResolvedSource(source, path, "found")
    return ResolvedSource(source, path, "missing", f"not found at {path}")


def resolve_all(
    sources: list[Source], cms_data_dir: Path | None, repo_root: Path | None = None
) -> list[ResolvedSource]:
    return [resolve(s, cms_data_dir, repo_root) for s in sources]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(resolved: ResolvedSource) -> bool | None:
    """True/False when the source records a sha256 and is found; None when there is nothing to check."""
    if (
        not resolved.found
        or resolved.source.sha256 is None
        or resolved.path is None
        or resolved.path.is_dir()
    ):
        return None
    ok = sha256_file(resolved.path) == resolved.source.sha256
    if not ok:
        log.warning("source checksum_mismatch id=%s path=%s", resolved.source.id, resolved.path)
    return ok
