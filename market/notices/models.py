"""Notices: short messages to an organisation, a user or every user of a role (e.g. all exchange staff).

A notice to an organisation or a role reaches several people, so whether it was read is kept per person (NoticeRead):
one officer reading it does not hide it from the others.

Any area may import `market.notices.service.notify`. The text is an English msgid with params, translated when shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base


class Notice(Base):
    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    recipient_role: Mapped[str | None] = mapped_column(String(20), index=True)  # e.g. "staff"
    msgid: Mapped[str] = mapped_column(String(300))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(index=True)


class NoticeRead(Base):
    """One person has read one notice (the primary key makes a second mark a no-op, even at the same moment)."""

    __tablename__ = "notice_read"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime]
