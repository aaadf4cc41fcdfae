"""Domain errors raised by services; views and the API map them to messages and HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the market refused an action. `message` is a translatable English string."""

    status = 422
    code = "unprocessable"

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params

    def __init_subclass__(cls, status: int | None = None, code: str | None = None, **kw):
        """`class NotFound(DomainError, status=404, code="not_found")`: a kind of refusal, with the HTTP status and
        the error code the API answers it with (inherited when not given)."""
        super().__init_subclass__(**kw)
        cls.status = status or cls.status
        cls.code = code or cls.code

    def localized(self) -> str:
        from flask_babel import gettext

        return gettext(self.message, **self.params)


class NotFound(DomainError, status=404, code="not_found"):
    """What was asked for does not exist, or the actor may not know that it does."""


class Forbidden(DomainError, status=403, code="forbidden"):
    """The actor may not do this."""


class Conflict(DomainError, status=409, code="conflict"):
    """The state of the market refuses it now (taken, moved on, already done)."""


class InvalidInput(DomainError, status=422, code="invalid"):
    """The input breaks a rule."""


class InvalidTransition(Conflict, code="invalid_transition"):
    """A state machine refused a move from the current state."""
