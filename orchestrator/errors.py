"""A shallow error hierarchy. Each error knows its exit code; the CLI boundary
turns it into one line of text. Nothing below the CLI exits the process."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE), as Unix tools end
EXIT_TERMINATED = 143  # SIGTERM, handled like Ctrl-C (128 + SIGTERM)


class OrchestrateError(Exception):
    """Base of every error orchestrate reports to the user."""

    exit_code = EXIT_FAILED

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, hint: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint

    def location(self) -> str:
        """``file:line: `` prefix, or nothing when the error has no file."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}: " if self.line else f"{self.file}: "

    def __str__(self) -> str:
        return self.location() + self.message


class ConfigError(OrchestrateError):
    """An unreadable or invalid workspace or wrangler configuration."""

    exit_code = EXIT_USAGE


class UsageError(OrchestrateError):
    """Options that do not make sense together, or name nothing."""

    exit_code = EXIT_USAGE


class TargetError(OrchestrateError):
    """A target database could not be read or written (unreachable, locked, refused)."""

    exit_code = EXIT_FAILED


class MigrationError(OrchestrateError):
    """A migration failed on a target; nothing of it was kept."""

    exit_code = EXIT_FAILED


class BatchError(OrchestrateError):
    """A statement of a batch failed; the batch was rolled back as a whole.

    ``index`` is the failing statement's position in the batch (None if unknown);
    ``sqlite_message`` is what the database said.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.sqlite_message = message


class AuthError(TargetError):
    """The target refused our credentials (HTTP 401/403): every database stops at once."""


class NotFound(TargetError):
    """The API answered 404: no such database (or route) on this account."""


class OutcomeUnknown(TargetError):
    """A write was sent but its outcome is unknown (timeout, connection reset after send).

    It is never blindly resent: the runner reads the ledger first.
    """


class Interrupted(OrchestrateError):
    """Ctrl-C arrived while waiting (for a lock); nothing was applied in that wait."""

    exit_code = EXIT_INTERRUPTED
