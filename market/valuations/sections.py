"""What valuations add to the ip area's patent page, patent API and patent index (area.py contributions, see
`market.areas`): the valuation reports the viewer may read, and each asset's latest valuation in force."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup
from marshmallow import fields
from sqlalchemy.orm import Session

from market.valuations.schemas import AssetValuationOut
from market.valuations.service import latest_amounts, visible_valuations


def valuation_section(session: Session, viewer, asset) -> Markup:
    return Markup(render_template("valuations/_asset_valuations.html",
                                  valuations=visible_valuations(session, viewer, asset.id)))


VALUATIONS_FIELD = fields.List(fields.Nested(AssetValuationOut), metadata={
    "description": "the valuation reports the caller may read, newest first (details: /valuations/{id})"})

patent_sections = [(30, valuation_section)]
patent_details = [("valuations", VALUATIONS_FIELD,
                   lambda session, viewer, asset: visible_valuations(session, viewer, asset.id))]
patent_values = [("valuation", latest_amounts)]
