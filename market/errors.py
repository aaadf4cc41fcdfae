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

    def localized(self) -> str:
        from flask_babel import gettext

        return gettext(self.message, **self.params)


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 422
    code = "invalid"


class InvalidTransition(Conflict):
    code = "invalid_transition"
