"""The small exception tree at CodeDesk's edges. Each carries a message a person can act on."""

from __future__ import annotations


class CodeDeskError(Exception):
    """Base class: `str(err)` is safe to show a user."""


class ConfigError(CodeDeskError):
    """A setting is missing or wrong; the message names it and what to set."""


class SourceError(CodeDeskError):
    """An official source file is missing, truncated or malformed."""

    def __init__(self, path: object, problem: str, line: int | None = None) -> None:
        where = f"{path}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line


class IndexUnavailable(CodeDeskError):
    """The code index cannot be reached or has not been built."""


class ModelMismatch(ConfigError):
    """The index was built with another embedding model than the one configured."""
