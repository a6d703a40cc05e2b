"""`codedesk fetch`: download official CMS files into CODEDESK_CMS_DATA_DIR and verify checksums.

Only `cms:` sources with a download address are fetched. A ZIP download is opened and the named
member extracted; every file is written to a temporary name and moved into place only once its
checksum (when the manifest has one) matches, so a failed download never replaces a good file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest.manifest import Source

log = logging.getLogger(__name__)
MAX_BYTES = 500 * 2**20


@dataclass(slots=True)
class FetchResult:
    source_id: str
    ok: bool
    message: str
    path: Path | None = None


def _download(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "codedesk-fetch/1"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - addresses come from the manifest
        data = resp.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 2**20} MB")
    return data


def fetch_source(source: Source, dest_root: Path, *, timeout: float = 30.0) -> FetchResult:
    if source.scheme != "cms" or not source.url:
        return FetchResult(source.id, True, "nothing to fetch (shipped with a package or the repository)")
    dest = dest_root / source.relative_path
    try:
        data = _download(source.url, timeout)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return FetchResult(source.id, False, f"could not download {source.url} ({reason}). Check the network or "
                           f"download it by hand from {source.page or source.url} into {dest}")
    if source.archive_member:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = {Path(n).name: n for n in zf.namelist()}
                member = names.get(source.archive_member)
                if member is None:
                    return FetchResult(source.id, False, f"{source.archive_member} is not in {source.url}")
                data = zf.read(member)
        except zipfile.BadZipFile:
            return FetchResult(source.id, False, f"{source.url} is not a valid ZIP file")
    digest = hashlib.sha256(data).hexdigest()
    if source.sha256 and digest != source.sha256:
        return FetchResult(source.id, False, f"checksum mismatch for {source.url}: expected {source.sha256[:12]}…, "
                           f"got {digest[:12]}…; the file was not saved")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(dest)
    verified = "checksum verified" if source.sha256 else "no checksum recorded"
    return FetchResult(source.id, True, f"saved {dest} ({len(data):,} bytes, {verified})", dest)


def fetch_all(sources: list[Source], dest_root: Path, *, only: list[str] | None = None,
              timeout: float = 30.0) -> list[FetchResult]:
    return [fetch_source(s, dest_root, timeout=timeout) for s in sources if not only or s.id in only]
