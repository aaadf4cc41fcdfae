"""Demo data of the loans area (after the needs demo): from the demo needs,

- the pending offer of 重庆三峡银行两江支行 on “高镍三元正极材料产线技改” is accepted and signed into a loan with
  its pledges, a guarantor and an insurer; the first instalment is repaid early; staff pay the premium subsidy;
- 重庆银行科技支行 offers on “动力电池回收中试线”, the enterprise accepts (its consent to the pledge), the bank signs;
  the enterprise stops trading before any instalment is 90 days overdue, so the bank asks staff to confirm the default
  with its reason and staff confirm it with theirs; the bank declares the recovery with its evidence, staff verify
  the evidence, and the claim (every fact of its checklist holding) is approved and paid from the fund.

Idempotent: every step checks what is already there. Skipped when the needs demo made no needs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import Organisation, User
from market.db import db, utcnow
from market.errors import DomainError
from market.loans import service
from market.loans.models import CompensationStatus, LoanStatus
from market.needs import docking
from market.needs.models import Need, NeedStatus, Offer, OfferStatus


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _need(title: str) -> Need | None:
    return db.session.scalar(select(Need).where(Need.title == title).order_by(Need.id).limit(1))


def _offer(need: Need, bank: User) -> Offer | None:
    return next((o for o in need.offers if o.bank_org_id == bank.organisation_id
                 and o.status in (OfferStatus.PENDING, OfferStatus.ACCEPTED)), None)


def _signed(need: Need, ent: User, bank: User, echo, *, amount: Decimal, rate: Decimal, months: int,
            registration: str, **extra):
    """The loan of `bank` on `need`: make the offer when missing, have it accepted, sign it. None when impossible."""
    session = db.session
    now = utcnow()
    offer = _offer(need, bank)
    if offer is not None:
        loan = service.loan_of_offer(session, offer.id)
        if loan is not None:
            return loan
    if need.status not in (NeedStatus.PUBLISHED, NeedStatus.IN_TALKS):
        echo(f"Loans demo: “{need.title}” is {need.status.value}; no loan signed")
        return None
    try:
        if offer is None:
            offer = docking.make_offer(session, bank, need.id, amount, rate, months, now,
                                       conditions="办理专利权质押登记后放款")
        if offer.status is OfferStatus.PENDING:
            docking.accept_offer(session, ent, offer.id, now)
        loan = service.sign_loan_from_offer(session, bank, offer.id, signed_on=now.date(), now=now,
                                            registration_number=registration, registered_on=now.date(), **extra)
        session.commit()
    except DomainError as exc:
        session.rollback()
        echo(f"Loans demo: “{need.title}” not signed: {exc.message % exc.params if exc.params else exc.message}")
        return None
    return loan


def demo_step(echo: Callable[[str], None] = print) -> None:
    session = db.session
    ent, bank, bank2, staff = (_user(e) for e in ("enterprise@demo.cq", "bank@demo.cq", "bank2@demo.cq",
                                                   "staff@demo.cq"))
    guarantor = session.scalar(select(Organisation).join(User, User.organisation_id == Organisation.id)
                               .where(User.email == "guarantor@demo.cq"))
    insurer = session.scalar(select(Organisation).join(User, User.organisation_id == Organisation.id)
                             .where(User.email == "insurer@demo.cq"))
    first, second = _need("高镍三元正极材料产线技改"), _need("动力电池回收中试线")
    if None in (ent, bank, bank2, staff) or first is None or second is None:
        echo("Loans demo: skipped (needs the demo accounts and the needs demo)")
        return
    service.ensure_fund(session, utcnow())
    session.commit()
    done = []

    # 1. a performing loan with a guarantor and an insurer, one repayment, the premium subsidy paid
    performing = _signed(first, ent, bank2, echo, amount=first.amount, rate=Decimal("0.0520"),
                         months=first.term_months, registration="渝知质登字2026第0101号",
                         guarantor_org_id=guarantor.id if guarantor else None,
                         guarantee_coverage=Decimal("0.30") if guarantor else 0,
                         guarantee_premium=Decimal("20000") if guarantor else 0,
                         insurer_org_id=insurer.id if insurer else None,
                         insurance_coverage=Decimal("0.20") if insurer else 0,
                         insurance_premium=Decimal("15000") if insurer else 0)
    if performing is not None:
        now = utcnow()
        if not performing.repayments and performing.status is LoanStatus.ACTIVE:
            first_due = service.loan_schedule(performing)[0]
            service.record_repayment(session, bank2, performing.id, paid_on=now.date(),
                                     principal=first_due.principal, interest=first_due.interest, now=now)
        if performing.premium_subsidy > 0:
            service.pay_subsidy(session, staff, performing.id, now)  # idempotent
        session.commit()
        done.append(f"loan {performing.id} performing (repayment, subsidy {performing.premium_subsidy})")

    # 2. a loan in default: recovery recorded, compensation claim approved and paid from the fund
    defaulted = _signed(second, ent, bank, echo, amount=Decimal("7000000.00"), rate=Decimal("0.0500"),
                        months=second.term_months, registration="渝知质登字2026第0102号")
    if defaulted is not None:
        now = utcnow()
        try:
            if defaulted.status in (LoanStatus.ACTIVE, LoanStatus.OVERDUE):
                if defaulted.default_requested_at is None:
                    service.request_default(session, bank, defaulted.id, now,
                                            reason="企业已停产，实际控制人失联，经营性现金流中断")
                service.confirm_default(session, staff, defaulted.id, now,
                                        reason="经现场核查，企业停产属实，同意认定违约")
            claim = service.loan_claim(session, defaulted.id)
            if claim is None:
                claim = service.record_recovery(session, bank, defaulted.id, Decimal("1500000.00"), now,
                                                evidence="（2026）渝01民初0102号民事调解书；回收款入账凭证")
            if claim.status is CompensationStatus.SUBMITTED:
                if claim.evidence_verified_at is None:
                    service.verify_recovery(session, staff, claim.id, now)
                service.approve_claim(session, staff, claim.id, now)  # paid at once when the fund covers it
            session.commit()
            done.append(f"loan {defaulted.id} in default, claim {claim.id} {claim.status.value} "
                        f"({claim.compensation})")
        except DomainError as exc:
            session.rollback()
            message = exc.message % exc.params if exc.params else exc.message
            echo(f"Loans demo: default of loan {defaulted.id}: {message}")

    _reindex_needs(echo)
    echo("Loans: " + ("; ".join(done) if done else "nothing new") +
         f"; fund balance {service.fund_balance(session, utcnow())}")
    session.commit()


def _reindex_needs(echo) -> None:
    from market.needs.indexing import get_backend, reindex
    from search import SearchError

    try:
        written = reindex(db.session, get_backend())
        db.session.commit()
        echo(f"Needs index: {written} published needs")
    except SearchError as exc:
        db.session.rollback()
        echo(f"Needs index not rebuilt ({exc}); run `market needs reindex` later")
