"""One settings object for the whole app (prefix CODEDESK_), built once at start-up and passed down."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import unquote_plus

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_FISCAL_YEAR = "2026"  # the Tabular List shipped in simple-icd-10-cm (April 1 2026 update)
DEFAULT_FISCAL_YEAR = (
    EMBEDDED_FISCAL_YEAR  # kept for imports; the year answered follows the date (fiscal_year)
)
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
CodingSetting = Literal["inpatient", "outpatient", "professional", "risk_adjustment"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODEDESK_", env_file=".env", extra="ignore")

    home: Path = Field(
        Path(".codedesk"), description="State folder: Chroma store, SQLite file, caches"
    )
    cms_data_dir: Path | None = Field(
        None, description="Folder of official CMS files ingested beside the default"
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the query log; default SQLite in home"
    )
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset = embedded store in home"
    )
    chroma_port: int = Field(8000, description="Chroma server port")
    chroma_timeout_s: float = Field(
        30.0,
        ge=1,
        description="Seconds a request to the Chroma server may take "
        "before the index counts as unavailable",
    )
    # Read from CODEDESK_FISCAL_YEAR, or Settings(fiscal_year=…); `fiscal_year` below is the year in use.
    fiscal_year_set: str | None = Field(
        None,
        validation_alias="codedesk_fiscal_year",
        description="Fiscal year answered when a question names none and gives no date of service; "
        "unset = the year in effect on `today`",
    )
    today: date | None = Field(
        None,
        description="The date taken as today (a fixed clock for tests and demos); "
        "unset = the system date",
    )
    tabular_xml: Path | None = Field(
        None,
        description="Another Tabular List XML; its year is CODEDESK_FISCAL_YEAR, "
        "else the year its <version> names (retrieval.books)",
    )
    embedding_backend: str = Field(
        "onnx-int8", description="onnx-int8 (fast) or onnx (fp32); the index records it"
    )
    team_guidelines_dir: Path | None = Field(
        None, description="Team guideline folder (default guidelines/team)"
    )
    user_hash_secret: SecretStr | None = Field(
        None,
        description="Key for hashing Slack user ids in the log "
        "(share it across hosts); default a per-install key in home",
    )
    # What a coder's answers show beside the codes by default (codedesk/retrieval/code_check.py); a
    # question can ask for more
    coding_setting: CodingSetting | None = Field(
        None,
        description="inpatient (CC/MCC levels), outpatient, professional or risk_adjustment (HCC "
        "categories); unset = both",
    )
    max_question_chars: int = Field(
        2000, description="Longer questions are truncated, and the answer says so"
    )
    top_k: int = Field(5, description="Codes returned per answer")

    # Slack (names as Slack spells them are accepted too; see bot.config)
    port: int = Field(3000, description="HTTP port of `codedesk serve`")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")

    # Optional model-backed answers (unset = the deterministic composer only); see codedesk/retrieval/llm.py
    llm: str | None = Field(
        None,
        description="Chat model the LangChain way: openai:gpt-4o-mini, "
        "anthropic:…, ollama:llama3; unset = deterministic answers only",
    )
    llm_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server (vLLM, Azure, …)"
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key of the model endpoint (OPENAI_API_KEY works too)"
    )
    llm_timeout_s: float = Field(
        20.0, gt=0, description="Seconds per model request before the deterministic answer"
    )
    llm_max_retries: int = Field(
        1, ge=0, description="Retries of a failed or rate-limited model request"
    )
    llm_daily_budget_per_user: int = Field(
        200,
        ge=0,
        description="Model-worded answers per user per UTC day; beyond it the deterministic answer",
    )

    @field_validator(
        "cms_data_dir",
        "tabular_xml",
        "team_guidelines_dir",
        "fiscal_year_set",
        "today",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("coding_setting", mode="before")
    @classmethod
    def _coding_setting_words(cls, value: object) -> object:
        """ "Risk adjustment", "risk-adjustment" and "RISK_ADJUSTMENT" are one setting; blank is unset."""
        if isinstance(value, str):
            value = "_".join(value.strip().lower().replace("-", " ").split())
            return value or None
        return value

    @field_validator("llm", "llm_base_url", "llm_api_key", mode="before")
    @classmethod
    def _blank_llm_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="before")
    @classmethod
    def _fiscal_year_keyword(cls, data: object) -> object:
        if isinstance(data, dict) and "fiscal_year" in data:
            data = {**data, "codedesk_fiscal_year": data.pop("fiscal_year")}
        return data

    @field_validator("fiscal_year_set")
    @classmethod
    def _fiscal_year_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fy = value.strip().upper().removeprefix("FY")
        if not (len(fy) == 4 and fy.isdigit()):
            raise ValueError(f"CODEDESK_FISCAL_YEAR must be a year such as 2027, not {value!r}")
        return fy

    @property
    def fiscal_year(self) -> str:
        """The year answered when a question names none: CODEDESK_FISCAL_YEAR, else the fiscal year in
        effect today (FY N runs 1 Oct N-1 – 30 Sep N), read on every call so a running server turns over."""
        return self.fiscal_year_set or fiscal_year_of(self.today_date)

    @property
    def today_date(self) -> date:
        return self.today or date.today()

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'codedesk.db').resolve()}"


def fiscal_year_of(day: date) -> str:
    """ICD-10-CM fiscal year N runs 1 October N-1 to 30 September N: 2026-12-02 is FY2027."""
    return str(day.year + 1 if day.month >= 10 else day.year)


# Query keys whose value is a credential (libpq: password, sslpassword; ODBC-style: pwd; tokens of
# HTTP services such as a Chroma server). Matched on the key lower-cased and percent-decoded.
_SECRET_KEY_PARTS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "auth",
    "credential",
)
_CONNINFO_SECRET = re.compile(r"(?i)\b((?:ssl)?pass(?:word|wd)?|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")
REDACTED = "***"


def _secret_key(key: str) -> bool:
    k = unquote_plus(key).strip().lower()
    return any(part in k for part in _SECRET_KEY_PARTS)


def _redact_pairs(text: str) -> str:
    """`a=1&password=x;pwd=y` with every credential value replaced, the rest kept byte for byte."""
    parts = re.split(r"([&;])", text)
    for i in range(0, len(parts), 2):
        key, eq, _value = parts[i].partition("=")
        if eq and _secret_key(key):
            parts[i] = f"{key}={REDACTED}"
    return "".join(parts)


def redact_url(url: str | None) -> str:
    """A database or service URL safe to show (logs, /readyz, CLI output): the password of the
    userinfo (`user:pass@`), every credential in the query or fragment (`?password=`, `pwd=`,
    `sslpassword=`, `token=`…) and `password=` of a libpq key/value string are replaced by ***.
    Never raises: text that is not a URL gets the key/value treatment."""
    if not url:
        return ""
    text = str(url)
    try:
        scheme, sep, rest = text.partition("://")
        if not sep:
            return _CONNINFO_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
        # netloc ends at the first / ? or # after the scheme; userinfo is up to its last @
        end = len(rest)
        for ch in "/?#":
            pos = rest.find(ch)
            if pos != -1:
                end = min(end, pos)
        netloc, tail = rest[:end], rest[end:]
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{host}"
        path, qmark, query = tail.partition("?")
        query, hashmark, fragment = query.partition("#") if qmark else ("", "", "")
        if not qmark:
            path, hashmark, fragment = tail.partition("#")
        out = (
            f"{scheme}://{netloc}{_CONNINFO_SECRET.sub(lambda m: f'{m.group(1)}={REDACTED}', path)}"
        )
        if qmark:
            out += "?" + _redact_pairs(query)
        if hashmark:
            out += "#" + _redact_pairs(fragment)
        return out
    except Exception:  # never show what could not be parsed
        return f"{text.split('://', 1)[0]}://{REDACTED}" if "://" in text else REDACTED


_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s'\"<>()]+")


def redact_text(message: str | None) -> str:
    """A message (an error, a log line) with every URL in it passed through `redact_url` and any
    libpq-style `password=…` masked."""
    if not message:
        return ""
    out = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), str(message))
    return _CONNINFO_SECRET.sub(
        lambda m: f"{m.group(1)}={REDACTED}" if m.group(2) != REDACTED else m.group(0), out
    )
