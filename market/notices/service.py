"""Sending and reading notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from market.errors import NotFound
from market.notices.models import Notice


def notify(session: Session, *, msgid: str, now: datetime, org_id: int | None = None, user_id: int | None = None,
           role: str | None = None, link: str | None = None, **params) -> Notice:
    """Send one notice to an organisation, a user or a role (at least one of them)."""
    if org_id is None and user_id is None and role is None:
        raise ValueError("a notice needs a recipient")
    notice = Notice(recipient_org_id=org_id, recipient_user_id=user_id, recipient_role=role, msgid=msgid,
                    params={k: str(v) for k, v in params.items()}, link=link, created_at=now)
    session.add(notice)
    session.flush()
    return notice


def _for_user(user):
    clauses = [Notice.recipient_user_id == user.id, Notice.recipient_role == user.role.value]
    if user.organisation_id is not None:
        clauses.append(Notice.recipient_org_id == user.organisation_id)
    return or_(*clauses)


def notices_for(session: Session, user, limit: int = 100) -> list[Notice]:
    return list(session.scalars(select(Notice).where(_for_user(user)).order_by(Notice.id.desc()).limit(limit)))


def unread_count(session: Session, user) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Notice).where(_for_user(user), Notice.read_at.is_(None)))


def mark_read(session: Session, user, notice_id: int, now: datetime) -> Notice:
    notice = session.scalar(select(Notice).where(Notice.id == notice_id, _for_user(user)))
    if notice is None:
        raise NotFound("This notice does not exist.")
    if notice.read_at is None:
        notice.read_at = now
    session.flush()
    return notice


def text_of(notice: Notice) -> str:
    from flask_babel import gettext

    return gettext(notice.msgid, **(notice.params or {}))
