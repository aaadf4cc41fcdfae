"""Sending and reading notices, the header's unread count and the workspace's to-do list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from market.db import insert_unique
from market.errors import Conflict, NotFound
from market.notices.models import Notice, NoticeRead

# Params shown through a label instead of their stored value: {param name: fn(stored text) -> shown text}. Areas
# register theirs in init_app (a watch-flag reason, an amount in 元), so a notice never shows a raw code.
PARAM_LABELS: dict[str, Callable[[str], str]] = {}


def register_param_label(name: str, fn: Callable[[str], str]) -> None:
    PARAM_LABELS[name] = fn


def notify(session: Session, *, msgid: str, now: datetime, org_id: int | None = None, user_id: int | None = None,
           role: str | None = None, link: str | None = None, **params) -> Notice:
    """Send one notice to an organisation, a user or a role (at least one of them)."""
    if org_id is None and user_id is None and role is None:
        raise ValueError("a notice needs a recipient")
    notice = Notice(recipient_org_id=org_id, recipient_user_id=user_id, recipient_role=role, msgid=msgid,
                    params={k: v.isoformat() if isinstance(v, datetime) else str(v) for k, v in params.items()},
                    link=link, created_at=now)
    session.add(notice)
    session.flush()
    return notice


def _for_user(user):
    clauses = [Notice.recipient_user_id == user.id, Notice.recipient_role == user.role.value]
    if user.organisation_id is not None:
        clauses.append(Notice.recipient_org_id == user.organisation_id)
    return or_(*clauses)


def notices_for(session: Session, user, limit: int = 100, offset: int = 0) -> list[Notice]:
    return list(session.scalars(select(Notice).where(_for_user(user)).order_by(Notice.id.desc())
                                .offset(offset).limit(limit)))


def count_for(session: Session, user) -> int:
    return session.scalar(select(func.count()).select_from(Notice).where(_for_user(user)))


def _unread(user):
    return ~exists().where(NoticeRead.notice_id == Notice.id, NoticeRead.user_id == user.id)


def unread_count(session: Session, user) -> int:
    return session.scalar(select(func.count()).select_from(Notice).where(_for_user(user), _unread(user)))


def read_ids(session: Session, user, notices: list[Notice]) -> set[int]:
    """Which of `notices` this user has read."""
    ids = [n.id for n in notices]
    if not ids:
        return set()
    return set(session.scalars(select(NoticeRead.notice_id).where(NoticeRead.user_id == user.id,
                                                                  NoticeRead.notice_id.in_(ids))))


def _mark(session: Session, user, notice: Notice, now: datetime) -> None:
    try:
        insert_unique(session, NoticeRead(notice_id=notice.id, user_id=user.id, read_at=now),
                      Conflict("This notice was already read."))
    except Conflict:
        pass  # marked at the same moment by another request of this user: read either way


def mark_read(session: Session, user, notice_id: int, now: datetime) -> Notice:
    """Mark one notice read for this user only (its organisation's other members still see it as new)."""
    notice = session.scalar(select(Notice).where(Notice.id == notice_id, _for_user(user)))
    if notice is None:
        raise NotFound("This notice does not exist.")
    if notice.id not in read_ids(session, user, [notice]):
        _mark(session, user, notice, now)
    return notice


def mark_all_read(session: Session, user, now: datetime) -> int:
    """Mark every notice this user has not read as read, for this user; returns how many."""
    notices = list(session.scalars(select(Notice).where(_for_user(user), _unread(user))))
    for notice in notices:
        _mark(session, user, notice, now)
    return len(notices)


def text_of(notice: Notice) -> str:
    from flask_babel import gettext

    params = {k: PARAM_LABELS[k](v) if k in PARAM_LABELS else v for k, v in (notice.params or {}).items()}
    return gettext(notice.msgid, **params)


# ------------------------------------------------------------------------------------------------ to-do list

@dataclass(frozen=True)
class Todo:
    """One thing that waits on the user: what, where to do it, and by when (a deadline and, when the rules count
    working days, how many are left; negative when late)."""

    text: str
    url: str
    due: datetime | None = None
    working_days_left: int | None = None
    late: bool = False


def todos_for(session: Session, user, now: datetime) -> list[Todo]:
    """Every area's pending items for the user (area.py `todos`: [(roles, fn(session, user, now) -> [Todo])]),
    the most urgent first."""
    from market.areas import collect

    items: list[Todo] = []
    for roles, fn in collect("todos"):
        if user.role in roles:
            items.extend(fn(session, user, now))
    return sorted(items, key=lambda t: (not t.late, t.due is None, t.due or now))
