"""Undertow's exception tree. The CLI turns each into one clear line and a non-zero exit.

    UndertowError
    ├── ConfigError        our side: a setting is missing or wrong (says which env var to set)
    ├── QueryError         our side: a brand query does not parse (says where and why)
    ├── ImportFormatError  our side: a file is not in a format we can read
    ├── NotFoundError      our side: a named brand, author or alert does not exist
    ├── InvalidTransition  our side: a status change the alert lifecycle does not allow
    ├── JobBusy            our side: a single-writer job (detect) is already running on this store
    └── SourceError        their side: an API refused, failed or rate-limited us
        └── AuthError      their side: credentials rejected (says which env var to set)
"""

from __future__ import annotations


class UndertowError(Exception):
    """Base of every error Undertow raises on purpose."""


class ConfigError(UndertowError):
    pass


class QueryError(UndertowError):
    def __init__(self, query: str, position: int, reason: str) -> None:
        self.query, self.position, self.reason = query, position, reason
        pointer = " " * position + "^"
        super().__init__(f"Bad query at position {position}: {reason}\n  {query}\n  {pointer}")


class ImportFormatError(UndertowError):
    pass


class NotFoundError(UndertowError):
    pass


class InvalidTransition(UndertowError):
    pass


class JobBusy(UndertowError):
    pass


class SourceError(UndertowError):
    pass


class AuthError(SourceError):
    pass
