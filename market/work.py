"""A unit of work, committed once: the one way a write view (API or HTML page) runs its service call.

Services only flush; the view hands the call to one of these two, which commits it whole or rolls it back whole:

    listing = commit_or_rollback(lambda: service.announce(db.session, actor, listing_id, now))   # API: errors answer
    ok, loan = commit_or_flash(lambda: service.sign_loan(...), _("Signed."))                       # page: errors flash
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash

from market.db import db
from market.errors import DomainError

T = TypeVar("T")


def commit_or_rollback(call: Callable[[], T]) -> T:
    """API views: run one service call and commit; on a refusal roll back so nothing of it is kept, and let the error
    answer (the API maps a DomainError to its status and envelope)."""
    try:
        result = call()
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def commit_or_flash(call: Callable[[], T], success: str | None = None) -> tuple[bool, T | Any]:
    """HTML write views: run one service call and commit; on a refusal roll back, flash its message in the user's
    language and return (False, None); otherwise flash `success` (when given) and return (True, result)."""
    try:
        result = call()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.localized(), "error")
        return False, None
    db.session.commit()
    if success:
        flash(success, "success")
    return True, result
