"""A loan's regional model (`market.policy.regional`): the terms a bank records with the loan, checked and audited,
and the model's terms and eligibility read back from a loan (its page, the API, the claim breakdown)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from market.accounts.models import Organisation
from market.audit.service import record
from market.bounded import AMOUNT, SHARE, OutOfBounds, parse
from market.errors import InvalidInput
from market.loans.models import CollateralItem, Loan
from market.policy.regional import (
    MAX_COLLATERAL_ITEMS,
    CollateralKind,
    LoanModel,
    ModelTerms,
    as_model,
    check_terms,
    collateral_cover,
    model_reasons,
)
from market.policy.rules import ZERO, LossSplit, Reason, money, rate_reasons, split_loss

# The keys of a loan's model in the services' `model` argument (web form, API body).
MODEL_KEYS = ("loan_model", "counter_guarantor_org_id", "counter_guarantee_security", "counter_guarantee_share",
              "recommended_by", "recommended_on", "collateral")
MODEL_FIELDS = ["loan_model", "counter_guarantor_org_id", "counter_guarantee_security", "counter_guarantee_share",
                "recommended_by", "recommended_on"]


def model_input(data: dict) -> dict:
    """Take the model's keys out of a request body (they go to the services as one `model` argument)."""
    return {key: data.pop(key) for key in MODEL_KEYS if key in data}


def _text(value, limit: int) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput("A text of the loan's model is too long (at most %(max)s characters).", max=limit)
    return text or None


def _bounded(bound, value, message: str) -> Decimal:
    """`value` within `bound`, else InvalidInput(`message`, problem=the bound's own message)."""
    try:
        return bound.check(parse(value))
    except OutOfBounds as exc:
        raise InvalidInput(message, problem=exc.localized()) from exc


def _items(raw) -> list[CollateralItem]:
    """Tangible collateral items from [{kind, description, valuation}, ...]; blank rows of a form are skipped."""
    items = []
    for row in raw or []:
        description = _text(row.get("description"), 300)
        valuation = row.get("valuation")
        if description is None and valuation in (None, "", 0):
            continue
        if description is None:
            raise InvalidInput("Describe each tangible asset (what, where, registration).")
        if valuation in (None, ""):
            raise InvalidInput("Give the valuation of each tangible asset.")
        try:
            kind = CollateralKind(row.get("kind") or "")
        except ValueError as exc:
            raise InvalidInput("Unknown kind of tangible asset.") from exc
        value = _bounded(AMOUNT, valuation, "The valuation of a tangible asset: %(problem)s")
        items.append(CollateralItem(kind=kind, description=description, valuation=money(value)))
    if len(items) > MAX_COLLATERAL_ITEMS:
        raise InvalidInput("At most %(max)s tangible assets per loan.", max=MAX_COLLATERAL_ITEMS)
    return items


def check_model(session: Session, model: dict | None, *, bank_org_id: int, enterprise_org_id: int,
                guarantor_org_id: int | None, guarantee_coverage, guarantee_premium, signed_on: date, now: datetime
                ) -> tuple[ModelTerms, dict, list[CollateralItem]]:
    """Check a loan's model (`MODEL_KEYS`) against its guarantee; returns its terms for the plan, the loan's column
    values, and the tangible collateral items (not yet added). Refusals are InvalidInput, nothing written."""
    model = dict(model or {})
    unknown = set(model) - set(MODEL_KEYS)
    if unknown:
        raise TypeError(f"unknown model keys: {sorted(unknown)}")
    kind = as_model(model.get("loan_model"))
    counter_id = model.get("counter_guarantor_org_id") or None
    share = model.get("counter_guarantee_share") or ZERO
    share = _bounded(SHARE, share, "The counter-guarantee's share: %(problem)s")
    security = _text(model.get("counter_guarantee_security"), 300)
    by = _text(model.get("recommended_by"), 200)
    on = model.get("recommended_on")
    items = _items(model.get("collateral"))
    terms = ModelTerms(model=kind, counter_guarantee_share=share, counter_by_enterprise=counter_id == enterprise_org_id,
                       recommended_on=on, collateral_value=sum((i.valuation for i in items), ZERO))
    check_terms(terms, Decimal(str(guarantee_coverage or 0)), Decimal(str(guarantee_premium or 0)),
                has_counter_guarantor=counter_id is not None or security is not None,
                has_recommendation=by is not None or on is not None, collateral_items=len(items))
    if kind is LoanModel.SHANGHAI:
        if guarantor_org_id is None:
            raise InvalidInput("Shanghai's model needs a guarantor covering a share of the loss.")
        org = session.get(Organisation, counter_id) if counter_id is not None else None
        if org is None:
            raise InvalidInput("Choose the counter-guarantor: the enterprise itself or another organisation.")
        if not org.is_verified:
            raise InvalidInput("The counter-guarantor is not verified.")
        if counter_id in (bank_org_id, guarantor_org_id):
            raise InvalidInput("The counter-guarantor backs the guarantor: it cannot be the guarantor or the bank.")
        if security is None:
            raise InvalidInput("Say what the counter-guarantee is secured with (property, equity, a personal "
                               "guarantee, ...).")
    if kind is LoanModel.JIANGSU:
        if by is None or on is None:
            raise InvalidInput("Relationship lending needs the government body that recommended the enterprise and "
                               "the day it did.")
        if on > now.date():
            raise InvalidInput("The day of the recommendation cannot be in the future.")
    columns = {"loan_model": kind, "counter_guarantor_org_id": counter_id, "counter_guarantee_security": security,
               "counter_guarantee_share": share, "recommended_by": by, "recommended_on": on}
    return terms, columns, items


def record_model(session: Session, actor, loan: Loan, columns: dict, items: list[CollateralItem],
                 now: datetime) -> None:
    """Write the checked model onto the new loan (and its tangible collateral), audited `loan.model_recorded`."""
    for name, value in columns.items():
        setattr(loan, name, value)
    for item in items:
        item.loan_id = loan.id
        session.add(item)
    session.flush()
    if loan.loan_model is LoanModel.CHONGQING:
        return
    record(session, actor=actor, action="loan.model_recorded", entity_type="loan", entity_id=loan.id, now=now,
           after={**{name: getattr(loan, name) for name in MODEL_FIELDS},
                  "collateral": [{"kind": i.kind.value, "description": i.description, "valuation": i.valuation}
                                 for i in items]})


def loan_terms(loan: Loan) -> ModelTerms:
    """The model terms of a recorded loan."""
    model = loan.loan_model or LoanModel.CHONGQING
    return ModelTerms(model=model, counter_guarantee_share=Decimal(loan.counter_guarantee_share or 0),
                      counter_by_enterprise=loan.counter_guarantor_org_id == loan.enterprise_org_id,
                      recommended_on=loan.recommended_on,
                      collateral_value=sum((money(i.valuation) for i in loan.collateral), ZERO))


def eligibility_reasons(loan: Loan) -> list[Reason]:
    """Why the loan gets no risk compensation: its rate above the cap of its policy, or its model's own rule."""
    return (rate_reasons(loan.policy, Decimal(loan.annual_rate), Decimal(loan.benchmark_rate))
            + model_reasons(loan.policy, loan_terms(loan), loan.signed_on))


def loan_split(loan: Loan, loss: Decimal) -> LossSplit:
    """Who carries `loss` of the loan's principal under its model (`market.policy.rules.split_loss`): its tangible
    collateral first (Tianjin), then the guarantor (less the counter-guarantee, Shanghai), the insurer, the fund
    (nothing when the loan is not eligible: rate above the cap, or Jiangsu's recommendation not valid) and the bank."""
    terms = loan_terms(loan)
    return split_loss(loan.policy, loss, not eligibility_reasons(loan), Decimal(loan.guarantee_coverage),
                      Decimal(loan.insurance_coverage), collateral=collateral_cover(terms, loss),
                      counter_guarantee_share=terms.counter_guarantee_share)
