"""What loans add to lower areas' pages and rules (area.py contributions, see `market.areas`): the pledge history
on the patent page and in `GET /api/v1/patents/{id}`, and the lending banks the valuers' conflict rule reads.

Pledge registrations are public record (CNIPA publishes them): number, date, bank and whether still active."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.api.fields import UtcDateTime
from market.loans.models import Loan, Pledge


def asset_pledges(session: Session, asset_id: int) -> list[Pledge]:
    """Every pledge registered on the asset, newest first."""
    return list(session.scalars(select(Pledge).where(Pledge.asset_id == asset_id)
                                .order_by(Pledge.registered_on.desc(), Pledge.id.desc())))


def lending_banks(session: Session, asset_id: int) -> set[int]:
    """Banks whose loans hold an active pledge on the asset."""
    return set(session.scalars(select(Loan.bank_org_id).join(Pledge, Pledge.loan_id == Loan.id)
                               .where(Pledge.asset_id == asset_id, Pledge.active.is_(True))))


def pledge_section(session: Session, viewer, asset) -> Markup:
    return Markup(render_template("loans/_patent_pledges.html", pledges=asset_pledges(session, asset.id)))


class PledgeRecordOut(Schema):
    registration_number = fields.String()
    registered_on = fields.Date()
    bank = fields.Function(lambda p: p.loan.bank.name if p.loan.bank else None, allow_none=True,
                           metadata={"description": "the pledgee bank"})
    active = fields.Boolean()
    released_at = UtcDateTime(allow_none=True)


PLEDGES_FIELD = fields.List(fields.Nested(PledgeRecordOut), metadata={
    "description": "pledge registrations on this platform (public record), newest first"})

patent_sections = [(10, pledge_section)]
patent_details = [("pledges", PLEDGES_FIELD, lambda session, viewer, asset: asset_pledges(session, asset.id))]
asset_lenders = [lending_banks]
