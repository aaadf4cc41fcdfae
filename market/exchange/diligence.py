"""The due-diligence pack of a lot: what a bidder needs to know, built from the records (asset data, legal status,
remaining life, the valuation in force, pledge history, licences sold on the exchange, the defaulted loan's record).
The pack is stored with the listing as JSON (amounts as decimal strings) and rebuilt when staff approve the lot."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation
from market.exchange import rules
from market.exchange.models import Listing, ListingKind, Transfer
from market.ip.models import IpAsset
from market.loans.models import Loan, Pledge
from market.loans.schedule import outstanding_principal
from market.valuations.service import latest_valuation


def _day(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def due_diligence_pack(session: Session, asset: IpAsset, loan_id: int | None, now: datetime,
                       valuation: Decimal | None = None) -> dict:
    """The pack for `asset` at `now`; `valuation` is the listing's own, used when no report is in force."""
    term_end = rules.remaining_term_end(asset.kind.value, asset.filing_date)
    return {
        "built_at": now.isoformat(),
        "asset": {"id": asset.id, "kind": asset.kind.value, "title": asset.title,
                  "application_number": asset.application_number, "publication_number": asset.publication_number,
                  "registration_number": asset.registration_number, "ipc_codes": list(asset.ipc_codes or []),
                  "applicants": asset.applicants, "filing_date": _day(asset.filing_date),
                  "grant_date": _day(asset.grant_date)},
        "legal_status": {"status": asset.legal_status.value, "raw": asset.legal_status_raw,
                         "date": _day(asset.legal_status_date), "frozen": asset.frozen},
        "remaining_life": {"term_ends": _day(term_end), "days": (term_end - now.date()).days if term_end else None},
        "pledge_state": asset.pledge_state.value,
        "valuation": _valuation_record(session, asset, valuation, now.date()),
        "pledge_history": _pledge_history(session, asset.id),
        "licences": _licences(session, asset.id),
        "loan": _loan_default_record(session, loan_id),
    }


def _valuation_record(session: Session, asset: IpAsset, own: Decimal | None, on: date) -> dict | None:
    """The valuation report in force on `on`, else the listing's own valuation."""
    report = latest_valuation(session, asset.id, on)
    if report is not None:
        return {"amount": str(report.amount), "date": _day(report.valuation_date), "source": "valuations",
                "id": report.id, "value_type": report.value_type.value}
    return {"amount": str(own), "date": None, "source": "listing"} if own is not None else None


def _pledge_history(session: Session, asset_id: int) -> list[dict]:
    rows = session.execute(select(Pledge, Organisation.name).join(Loan, Loan.id == Pledge.loan_id)
                           .join(Organisation, Organisation.id == Loan.bank_org_id)
                           .where(Pledge.asset_id == asset_id).order_by(Pledge.id)).all()
    return [{"loan_id": p.loan_id, "bank": bank, "registration_number": p.registration_number,
             "registered_on": _day(p.registered_on), "active": p.active, "released_at": _day(p.released_at)}
            for p, bank in rows]


def _licences(session: Session, asset_id: int) -> list[dict]:
    """Licences of the asset granted through the exchange (settled licence listings)."""
    rows = session.execute(select(Listing.id, Transfer.price, Transfer.at)
                           .join(Transfer, Transfer.listing_id == Listing.id)
                           .where(Listing.asset_id == asset_id, Listing.kind == ListingKind.LICENCE)).all()
    return [{"listing_id": lid, "price": str(price), "at": at.isoformat()} for lid, price, at in rows]


LOAN_FIELDS = ("status", "principal", "annual_rate", "signed_on", "maturity", "defaulted_on", "bank_org_id",
               "enterprise_org_id")


def _loan_default_record(session: Session, loan_id: int | None) -> dict | None:
    """The defaulted loan's record: status, principal, outstanding principal, default date, bank, enterprise."""
    if loan_id is None:
        return None
    loan = session.get(Loan, loan_id)
    if loan is None:
        return {"loan_id": loan_id, "available": False}
    out = {"loan_id": loan_id, "available": True}
    for name in LOAN_FIELDS:
        value = getattr(loan, name)
        if value is not None:
            out[name] = value.isoformat() if hasattr(value, "isoformat") else str(getattr(value, "value", value))
    out["bank"] = loan.bank.name if loan.bank else None
    out["enterprise"] = loan.enterprise.name if loan.enterprise else None
    out["outstanding_principal"] = str(outstanding_principal(loan))
    return out
