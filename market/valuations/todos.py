"""What waits on valuers and enterprises around consultations, for the workspace's to-do list (area.py `todos`)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Role
from market.notices.service import Todo
from market.valuations.models import Consultation, ConsultationStatus, ExpertProfile

LIMIT = 50


def valuer_todos(session: Session, user, now: datetime) -> list[Todo]:
    mine = select(ExpertProfile.id).where(ExpertProfile.user_id == user.id)
    consultations = session.scalars(select(Consultation).where(
        Consultation.expert_id.in_(mine), Consultation.status == ConsultationStatus.REQUESTED)
        .order_by(Consultation.id).limit(LIMIT))
    return [Todo(text=_("Answer the consultation of %(org)s", org=c.org.name if c.org else ""),
                 url=f"/consultations/{c.id}", due=c.created_at) for c in consultations]


def enterprise_todos(session: Session, user, now: datetime) -> list[Todo]:
    consultations = session.scalars(select(Consultation).where(
        Consultation.org_id == user.organisation_id, Consultation.status == ConsultationStatus.ANSWERED)
        .order_by(Consultation.id).limit(LIMIT))
    return [Todo(text=_("Read the answer to your consultation and close it"), url=f"/consultations/{c.id}")
            for c in consultations]


TODOS = [({Role.VALUER}, valuer_todos), ({Role.ENTERPRISE}, enterprise_todos)]
