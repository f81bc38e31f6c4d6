"""One error hierarchy for the whole of Safeground.

Every error carries a stable machine ``code``, the HTTP status a web route answers with, and a
message that is safe to show a user. Leaves also inherit the built-in a caller would expect
(``ValueError`` for bad input, ``LookupError`` for a missing object, ``PermissionError`` for a
refused role), in the manner of rasterio's ``CRSError(ValueError)``.

Routes and the CLI turn these into responses and exit codes only at their boundary; domain code
never knows about HTTP or terminals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safeground.record.problems import Problem


class SafegroundError(Exception):
    """Root of every error Safeground raises on purpose."""

    code: str = "SG_ERROR"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON error envelope body: ``{"error": {"code", "message", "details"}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class ConfigError(SafegroundError, ValueError):
    """A setting is missing or malformed."""

    code = "CONFIG_INVALID"
    http_status = 500


class ValidationError(SafegroundError, ValueError):
    """Input failed the gate checks. ``problems`` lists every coded problem found."""

    code = "VALIDATION_FAILED"
    http_status = 422

    def __init__(self, problems: Sequence[Problem], message: str | None = None) -> None:
        self.problems = list(problems)
        text = message or "; ".join(p.message for p in self.problems[:5])
        if len(self.problems) > 5:
            text += f"; and {len(self.problems) - 5} more"
        super().__init__(text, code=self.problems[0].code if self.problems else None,
                         details=[p.to_dict() for p in self.problems])


class TransitionError(SafegroundError, ValueError):
    """A land release transition the rules refuse (IMAS 07.11 practice; see docs/domain.md §2)."""

    code = "LR_TRANSITION_REFUSED"
    http_status = 409


class NotFoundError(SafegroundError, LookupError):
    """The object or report asked for does not exist."""

    code = "NOT_FOUND"
    http_status = 404


class ConflictError(SafegroundError, ValueError):
    """The request conflicts with the stored state (wrong lifecycle step, same approver...)."""

    code = "CONFLICT"
    http_status = 409


class DatabaseBusyError(SafegroundError, TimeoutError):
    """Other writers held the database for longer than a writer waits; nothing was written."""

    code = "DATABASE_BUSY"
    http_status = 503


class PermissionDeniedError(SafegroundError, PermissionError):
    """The user's role does not allow the action."""

    code = "FORBIDDEN"
    http_status = 403


class AuthenticationError(SafegroundError, PermissionError):
    """No or bad credentials."""

    code = "UNAUTHENTICATED"
    http_status = 401
