"""What can go wrong talking to the operator API, as the console tells it apart."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The operator API answered with an error body `{"error", "message", "fields"?}`."""

    def __init__(self, status: int, error: str, message: str, fields: Any = None) -> None:
        super().__init__(message or error)
        self.status = status
        self.error = error
        self.message = message
        # [{"field", "message"}] (or a mapping field -> message)
        if isinstance(fields, dict):
            fields = [{"field": k, "message": v} for k, v in fields.items()]
        self.fields: list[dict[str, Any]] = [f for f in (fields or []) if isinstance(f, dict)]

    def field_names(self) -> list[str]:
        return [str(f.get("field")) for f in self.fields]


class Unauthorized(ApiError):
    """No, an invalid or an expired token, or wrong credentials (401)."""


class Forbidden(ApiError):
    """The operator's role or units do not allow it (403)."""


class NotFound(ApiError):
    """No such item, case, queue or artifact (404)."""


class Conflict(ApiError):
    """Someone changed it meanwhile, or the transition is not allowed (409)."""


class Invalid(ApiError):
    """The request was refused, the fields named (422)."""


class TooManyAttempts(ApiError):
    """Sign-in refused for a while (429); `retry_after` in seconds."""

    def __init__(self, status: int, error: str, message: str, retry_after: float | None) -> None:
        super().__init__(status, error, message)
        self.retry_after = retry_after


class Unreachable(Exception):
    """The operator API cannot be reached (connection refused, timeout, 502–504): the console retries."""


BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
}
