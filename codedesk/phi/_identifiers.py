"""The passes for identifiers that are numbers or addresses on a network (sections 1-3, 5 and 9).

E-mail, web and IP addresses; numbers after a label (MRN, member ID, SSN, serial number, VIN…);
identifiers recognisable by their shape (MBI, payment card, SSN); phone and fax numbers; and,
last, any other long number that is no code. Each pattern comes with the function that decides,
per match, which tag it gets (or None to keep it); `codedesk.phi.scrub.scrub` runs them in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codedesk.phi._tagging import _CODE_SEGMENT

# --- 1. e-mail, web and network addresses ------------------------------------------------------

EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>|\"']*[^\s<>|\"'.,;:!?)]"
    r"|\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"\.(?:com|org|net|edu|gov|io|us|info|biz|health|care)\b(?::\d+)?(?:/[^\s<>|\"']*[^\s<>|\"'.,;:!?)])?",
    re.IGNORECASE,
)
# "email jorge luis.bilgin@…": a given name typed with a space, just before the address.
EMAIL_NAME_PART = re.compile(
    r"(?:(?<=\bemail\s)|(?<=\be-mail\s))(?P<w>[a-z]+)\s+\[EMAIL\]", re.IGNORECASE
)
# Public reference sites coders cite; kept unless a query string could carry an identifier.
_PUBLIC_HOSTS = (
    "cms.gov",
    "cdc.gov",
    "hhs.gov",
    "nih.gov",
    "ama-assn.org",
    "aapc.com",
    "ahima.org",
    "icd10data.com",
    "findacode.com",
    "who.int",
)
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)")
IPV6 = re.compile(
    r"(?<![\w:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])"
)
MAC = re.compile(r"(?<![\w:-])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![\w:-])")


def _url_kind(m: re.Match[str]) -> str | None:
    url = m.group(0)
    host = re.sub(r"^(?:[a-z]+://)?(?:www\.)?", "", url.lower()).split("/")[0].split(":")[0]
    if "?" not in url and any(host == h or host.endswith("." + h) for h in _PUBLIC_HOSTS):
        return None
    return "url"


def _ipv4_kind(m: re.Match[str]) -> str | None:
    return "ip" if all(int(p) <= 255 for p in m.group(0).split(".")) else None


def _ipv6_kind(m: re.Match[str]) -> str | None:
    s = m.group(0)
    # "10:30:45" is a time; an address has letters, "::" or many groups.
    return "ip" if "::" in s or s.count(":") >= 5 or re.search(r"[A-Fa-f]", s) else None


# --- 2. numbers with a label: MRN 123, member ID W123, SSN …, serial number …, VIN … ------------

_CONNECT = r"(?:\s*(?:[#:=]|\bno\b\.?|\bnumbers?\b|\bnum\b\.?|\bnbr\b|\bid\b|\bis\b|\bwas\b)\s*)"
_VALUE = r"(?P<val>\(?[A-Za-z0-9](?:[A-Za-z0-9()/-]*[A-Za-z0-9])?)"
# (label regex, kind, needs an explicit #/no/number/id word, minimum value length)
_LABELS: list[tuple[str, str, bool, int]] = [
    (r"\bMRN\b|\bMR\s?#|\bmedical\s+record(?:\s+number)?|\bchart\b", "mrn", False, 3),
    (r"\bacct\b\.?|\baccount\b", "account", False, 4),
    (r"\bSSN\b|\bSS#|\bsocial\s+security(?:\s+number)?", "ssn", False, 4),
    (r"\bMBI\b|\bHICN?\b", "mbi", False, 6),
    (
        r"\bmember\b|\bsubscriber\b|\bpolicy\b|\bgroup\b|\bhealth\s+plan\b|\binsurance\b|\bbeneficiary\b"
        r"|\bMedicare\b|\bMedicaid\b",
        "member_id",
        True,
        4,
    ),
    (r"\bFIN\b|\bCSN\b|\bICN\b|\bDCN\b|\baccession\b", "id", False, 4),
    (
        r"\bclaim\b|\bencounter\b|\bvisit\b|\bcase\b|\bspecimen\b|\border\b|\bpatient\b|\bpt\b"
        r"|\bauthorization\b|\bauth\b|\breferral\b",
        "id",
        True,
        4,
    ),
    (
        r"\bdriver'?s\s+licen[sc]e\b|\blicen[sc]e\b(?!\s+plate)|\bDL\b|\bDEA\b|\bNPI\b",
        "license",
        False,
        5,
    ),
    (r"\bcertificate\b|\bcert\b", "certificate", True, 4),
    (r"\bVIN\b|\b(?:license\s+)?plate\b", "vehicle_id", False, 5),
    (
        r"\bserial\b(?:\s+number)?|\bS/N\b|(?-i:\bSN\b)|\bUDI\b|\bIMEI\b|\bdevice\b|\blot\b",
        "device_id",
        False,
        5,
    ),
]
LABELLED = [
    (
        re.compile(rf"(?:{label})(?P<conn>{_CONNECT}*|\s+){_VALUE}", re.IGNORECASE),
        kind,
        needs_word,
        min_len,
    )
    for label, kind, needs_word, min_len in _LABELS
]


def _labelled_kind(
    kind: str, needs_word: bool, min_len: int
) -> Callable[[re.Match[str]], str | None]:
    def decide(m: re.Match[str]) -> str | None:
        val = m.group("val")
        if (
            kind == "vehicle_id"
            and re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", val, re.IGNORECASE)
            and val.isupper()
        ):
            return kind  # a VIN is 17 characters, with or without digits
        if not re.search(r"\d", val) or len(re.sub(r"\W", "", val)) < min_len:
            return None
        if needs_word and not re.search(
            r"#|\bno\b|\bnum|\bnbr\b|\bid\b", m.group("conn"), re.IGNORECASE
        ):
            return None
        return kind

    return decide


# --- 3. identifiers recognisable by their shape -------------------------------------------------

_MBI_L = "[AC-HJKMNP-RT-Y]"
_MBI_A = "[AC-HJKMNP-RT-Y0-9]"
MBI = re.compile(
    rf"(?<![\w-])[1-9]{_MBI_L}{_MBI_A}\d-?{_MBI_L}{_MBI_A}\d-?{_MBI_L}{{2}}\d{{2}}(?![\w-])",
    re.IGNORECASE,
)
CARD = re.compile(r"(?<![\w-])\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?![\w-])")  # payment card / account
SSN = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?:[A-Z]{1,2}\d?)?(?![\w-])")


# --- 5. phone and fax numbers --------------------------------------------------------------------

_EXT = r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6}\b)?"
PHONE = re.compile(
    rf"(?<![\w+.])(?:\+?1[\s.-]?)?(?:\(\d{{3}}\)\s?|\d{{3}}[\s./-])\d{{3}}[\s.-]\d{{4}}\b{_EXT}"
    rf"|(?:(?<=call\s)|(?<=cell\s)|(?<=phone\s)|(?<=fax\s)|(?<=tel\s)|(?<=at\s)|(?<=number\s)|(?<=text\s)|(?<=ph\s)"
    rf"|(?<=mobile\s)|(?<=contact\s)|(?<=[:#]\s))(?:\+?1)?[2-9]\d{{9}}\b{_EXT}"
    rf"|(?<![\w+])\+\d{{1,3}}[\s.-]?\d{{2,5}}(?:[\s.-]?\d{{2,8}}){{1,3}}\b{_EXT}"
    rf"|(?<![\w-])\d{{3}}-\d{{4}}(?![\w-])(?!\s*(?:mg|mcg|ml|mL|g|kg|units?|IU|mm|cm|%|patients|cases|codes))"
    rf"{_EXT}",
    re.IGNORECASE,
)


def _phone_kind(m: re.Match[str]) -> str:
    return "fax" if "fax" in m.string[max(0, m.start() - 24) : m.start()].lower() else "phone"


# --- 9. any other unique identifying number ------------------------------------------------------

HASH_NUMBER = re.compile(r"(?<![\w&])#\s?\d{4,}\b")
LONG_TOKEN = re.compile(
    r"(?<![\w.\-/\[])(?:\(\d+\))?[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![\w\-/]|\.\w)"
)
NDC_BEFORE = re.compile(r"\bNDC\s*[:#]?\s*$", re.IGNORECASE)


def _long_token_kind(m: re.Match[str]) -> str | None:
    token = m.group(0)
    alnum = re.sub(r"[^A-Za-z0-9]", "", token)
    digits = sum(c.isdigit() for c in alnum)
    if len(alnum) < 8 or digits < 5:
        return None
    if all(_CODE_SEGMENT.match(seg) for seg in token.split("-")):
        return None  # "99202-99215", "G0438-G0439", "FY2024-FY2025"
    if NDC_BEFORE.search(m.string[max(0, m.start() - 8) : m.start()]):
        return None
    return "id"
