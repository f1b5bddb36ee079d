"""Outcomes a bot raises, and the runtime's own errors."""

from __future__ import annotations

from datetime import datetime


class Outcome(Exception):
    """A decision by a bot that ends its run other than with a result."""


class Reject(Outcome):
    """A business rule refuses the request; terminal, never retried."""

    def __init__(self, code: str, customer_message: str) -> None:
        super().__init__(f"{code}: {customer_message}")
        self.code = code
        self.customer_message = customer_message


class HandOff(Outcome):
    """A clerk of `unit` must decide; opens a case."""

    def __init__(self, unit: str, reason_code: str, note: str = "") -> None:
        super().__init__(f"{unit}/{reason_code}: {note}")
        self.unit = unit
        self.reason_code = reason_code
        self.note = note


class SystemUnavailable(Outcome):
    """The target system is out of service; defer to its next service window, no attempt used."""

    def __init__(self, system: str, detail: str = "", until: datetime | None = None) -> None:
        super().__init__(f"{system} unavailable{': ' + detail if detail else ''}")
        self.system = system
        self.detail = detail
        self.until = until


class FieldInvalid(Exception):
    """A field of a request breaks a rule the request model cannot state alone (one that needs the date, say):
    the intake answers 422 naming the field and stores nothing."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RuntimeProblem(Exception):
    """Base of the runtime's own errors."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class NotFound(RuntimeProblem):
    """No such item, case or artifact."""


class InvalidTransition(RuntimeProblem):
    """That change of state is not in the transition table."""


class StaleVersion(RuntimeProblem):
    """Someone else changed the record first; reload and try again."""


class IdempotencyConflict(RuntimeProblem):
    """The idempotency key was used before with a different request."""


class UnknownQueue(RuntimeProblem):
    """No bot serves that queue."""


class ConfigurationError(RuntimeProblem):
    """A setting or a bot declaration is wrong."""


class StoreUnavailable(RuntimeProblem):
    """The database cannot be reached (or is too busy) right now; try again shortly."""


class UnknownResolution(RuntimeProblem):
    """The case's bot offers no resolution of that code."""


class OperatorExists(RuntimeProblem):
    """An operator of that name exists already (or, for the first-run setup, any operator does)."""
