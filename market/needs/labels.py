"""Translatable labels of the needs enums and matching reasons, as Jinja filters."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from market.i18n import enum_label, money, percent
from market.ip.labels import kind_label as ip_kind_label
from market.needs.matching import Reason
from market.needs.models import ClaimStatus, NeedStatus, OfferStatus
from market.needs.rules import AMOUNT_BAND_LABELS

NEED_STATUS_LABELS = {
    NeedStatus.DRAFT: _l("Draft"),
    NeedStatus.SUBMITTED: _l("Awaiting review"),
    NeedStatus.PUBLISHED: _l("Published"),
    NeedStatus.IN_TALKS: _l("In talks"),
    NeedStatus.FUNDED: _l("Funded"),
    NeedStatus.CLOSED: _l("Closed"),
    NeedStatus.REJECTED: _l("Returned for changes"),
    NeedStatus.WITHDRAWN: _l("Withdrawn by the enterprise"),
    NeedStatus.EXPIRED: _l("Expired"),
}
CLAIM_STATUS_LABELS = {
    ClaimStatus.INTEREST: _l("Interested"),
    ClaimStatus.MEETING: _l("Meeting arranged"),
    ClaimStatus.OFFER: _l("Offer made"),
    ClaimStatus.ACCEPTED: _l("Offer accepted"),
    ClaimStatus.DECLINED: _l("Declined"),
    ClaimStatus.WITHDRAWN: _l("Withdrawn by the bank"),
}
OFFER_STATUS_LABELS = {
    OfferStatus.PENDING: _l("Waiting for the enterprise"),
    OfferStatus.ACCEPTED: _l("Accepted"),
    OfferStatus.DECLINED: _l("Declined"),
    OfferStatus.WITHDRAWN: _l("Withdrawn by the bank"),
}
CRITERION_LABELS = {
    "amount": _l("Amount"),
    "term": _l("Term"),
    "rate": _l("Rate"),
    "ip_kinds": _l("IP kinds"),
    "industry": _l("Industry"),
    "preferred_bank": _l("Preferred bank"),
}
MONEY_PARAMS = {"amount", "low", "high"}


def reason_text(reason: Reason) -> str:
    """The reason in the current language, amounts as money and rates as percentages."""
    params = {}
    for key, value in reason.params.items():
        if reason.criterion == "amount" and key in MONEY_PARAMS:
            params[key] = money(value)
        elif reason.criterion == "rate":
            params[key] = percent(value)
        elif reason.criterion == "ip_kinds" and key == "kinds":  # "invention, design" → 发明专利、外观设计专利
            params[key] = gettext(", ").join(kind_label(k) for k in str(value).split(", ") if k)
        else:
            params[key] = value
    return gettext(reason.message, **params)


def kind_label(value) -> str:
    return str(ip_kind_label(value))


def init_app(app) -> None:
    app.jinja_env.filters.update(
        need_status=lambda v: enum_label(NEED_STATUS_LABELS, NeedStatus, v),
        claim_status=lambda v: enum_label(CLAIM_STATUS_LABELS, ClaimStatus, v),
        offer_status=lambda v: enum_label(OFFER_STATUS_LABELS, OfferStatus, v),
        criterion_label=lambda v: CRITERION_LABELS.get(v, v),
        amount_band_label=lambda v: AMOUNT_BAND_LABELS.get(v, v),
        reason_text=reason_text,
        need_kind_label=kind_label,
    )
