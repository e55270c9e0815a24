"""Typed errors. Each message names the file (and record) and says what to do next."""

from __future__ import annotations


class InvestigateError(Exception):
    """Base of every error the toolkit raises on purpose; the CLI prints its message alone."""


class SchemaVersionError(InvestigateError):
    """A workspace made by another schema version."""


class UnreadableInputError(InvestigateError):
    """An input file that cannot be read at all (missing, no permission, truncated archive)."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class MappingError(InvestigateError):
    """A mapping file that is invalid, or does not fit the file it is used with."""


class RejectedRecordError(InvestigateError):
    """Raised in strict mode at the first record that cannot be loaded."""

    def __init__(self, path, record, reason: str):
        self.path = str(path)
        self.record = record
        self.reason = reason
        where = f"{path}:{record}" if record is not None else str(path)
        super().__init__(f"{where}: {reason} (strict mode stops at the first bad record; "
                         "run without --strict to load the rest and list the rejects)")


class UnknownFormatError(InvestigateError):
    """A format name that no loader is registered under."""


class QueryError(InvestigateError):
    """An unknown query, or a parameter the query does not take."""


class ReferenceFileError(InvestigateError):
    """A reference file (networks, actors, assets, policy) that cannot be used as given."""


class VerificationError(InvestigateError):
    """A findings file that cannot be verified (missing, not a findings file)."""


class PseudonymKeyError(InvestigateError):
    """No pseudonymisation key, or one that cannot be used (empty, too short, not a key file).
    The message never contains the key."""


class PseudonymisationError(InvestigateError):
    """Something that cannot be pseudonymised as asked: a column whose identities cannot be
    told apart, or a finding that would publish an identity in clear."""


class MemoryLimitError(InvestigateError):
    """DuckDB ran out of memory within the workspace's memory limit (or of disk to spill to)."""
