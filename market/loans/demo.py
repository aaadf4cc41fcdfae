"""Demo data of the loans area (after the needs demo), dated as it happened over the past 18 months:

- 重庆银行科技支行 offers on “动力电池回收中试线” (published 522 days ago); the enterprise accepts, the bank signs;
  the enterprise repays ten instalments, then stops; the loan goes overdue, and after three months overdue the bank
  declares it in default. The exchange demo disposes of its pledges and the compensation claim follows the sale;
- “储能电池管理系统研发” (重庆三峡银行两江支行) and “焊接机器人视觉模块” (重庆银行科技支行) were signed and
  repaid in full, which released their pledges;
- the pending offer of 重庆三峡银行两江支行 on “高镍三元正极材料产线技改” is accepted and signed 60 days ago, with a
  guarantor and an insurer; every instalment due so far is repaid on its date; staff paid the premium subsidy.

Idempotent: every step checks what is already there. Skipped when the needs demo made no needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import Organisation, User
from market.db import db, utcnow
from market.errors import DomainError
from market.loans.default import declare_default
from market.loans.fund import ensure_fund, fund_balance, pay_subsidy
from market.loans.models import LoanStatus
from market.loans.repayments import record_repayment
from market.loans.schedule import loan_schedule
from market.loans.signing import loan_of_offer, sign_loan_from_offer
from market.loans.watch import tick
from market.needs import docking
from market.needs.indexing import get_backend, reindex
from market.needs.models import Need, NeedStatus, Offer, OfferStatus
from search import SearchError

# need title → (bank e-mail, rate, days ago: offer, acceptance, signing; instalments repaid (None: every one due))
TIMELINE = {
    "动力电池回收中试线": ("bank@demo.cq", "0.0500", 515, 512, 505, 10),
    "储能电池管理系统研发": ("bank2@demo.cq", "0.0520", 462, 460, 455, None),
    "焊接机器人视觉模块": ("bank@demo.cq", "0.0480", 292, 290, 285, None),
    "高镍三元正极材料产线技改": ("bank2@demo.cq", "0.0520", 72, 68, 60, None),
}
DEFAULTED = "动力电池回收中试线"
DEFAULT_AFTER_OVERDUE_DAYS = 95  # the bank waits three months of arrears before declaring the default


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _need(title: str) -> Need | None:
    return db.session.scalar(select(Need).where(Need.title == title).order_by(Need.id).limit(1))


def _offer(need: Need, bank: User) -> Offer | None:
    return next((o for o in need.offers if o.bank_org_id == bank.organisation_id
                 and o.status in (OfferStatus.PENDING, OfferStatus.ACCEPTED)), None)


def _signed(need: Need, ent: User, bank: User, echo, *, rate: Decimal, offered: datetime, accepted: datetime,
            signed: datetime, registration: str, **extra):
    """The loan of `bank` on `need`: the offer made when missing, accepted and signed at the given times."""
    session = db.session
    offer = _offer(need, bank)
    if offer is not None:
        loan = loan_of_offer(session, offer.id)
        if loan is not None:
            return loan
    if need.status not in (NeedStatus.PUBLISHED, NeedStatus.IN_TALKS):
        echo(f"Loans demo: “{need.title}” is {need.status.value}; no loan signed")
        return None
    try:
        if offer is None:
            offer = docking.make_offer(session, bank, need.id, need.amount, rate, need.term_months, offered,
                                       conditions="办理专利权质押登记后放款")
        if offer.status is OfferStatus.PENDING:
            docking.accept_offer(session, ent, offer.id, accepted)
        loan = sign_loan_from_offer(session, bank, offer.id, signed_on=signed.date(), now=signed,
                                    registration_number=registration, registered_on=signed.date(), **extra)
        session.commit()
    except DomainError as exc:
        session.rollback()
        echo(f"Loans demo: “{need.title}” not signed: {exc.message % exc.params if exc.params else exc.message}")
        return None
    return loan


def _repay(loan, bank: User, today: datetime, count: int | None) -> None:
    """Each instalment due before today (the first `count` of them) repaid on its due date."""
    if loan.repayments:
        return
    due = [i for i in loan_schedule(loan) if i.due_on < today.date()]
    for instalment in due[:count] if count is not None else due:
        at = datetime.combine(instalment.due_on, datetime.min.time()) + timedelta(hours=2)
        record_repayment(db.session, bank, loan.id, paid_on=instalment.due_on,
                         principal=instalment.principal, interest=instalment.interest, now=at)


def demo_step(echo: Callable[[str], None] = print) -> None:
    session = db.session
    ent, ent2, staff = (_user(e) for e in ("enterprise@demo.cq", "enterprise2@demo.cq", "staff@demo.cq"))
    guarantor = session.scalar(select(Organisation).join(User, User.organisation_id == Organisation.id)
                               .where(User.email == "guarantor@demo.cq"))
    insurer = session.scalar(select(Organisation).join(User, User.organisation_id == Organisation.id)
                             .where(User.email == "insurer@demo.cq"))
    needs = {title: _need(title) for title in TIMELINE}
    if None in (ent, ent2, staff) or any(n is None for n in needs.values()):
        echo("Loans demo: skipped (needs the demo accounts and the needs demo)")
        return
    today = utcnow().replace(microsecond=0)
    ensure_fund(session, today - timedelta(days=540))
    session.commit()
    done = []
    for number, (title, (bank_email, rate, offered, accepted, signed, repaid)) in enumerate(TIMELINE.items(), 101):
        need, bank = needs[title], _user(bank_email)
        owner = ent if need.org_id == ent.organisation_id else ent2
        extra = {}
        if title == "高镍三元正极材料产线技改" and guarantor and insurer:
            extra = dict(guarantor_org_id=guarantor.id, guarantee_coverage=Decimal("0.30"),
                         guarantee_premium=Decimal("20000"), insurer_org_id=insurer.id,
                         insurance_coverage=Decimal("0.20"), insurance_premium=Decimal("15000"))
        at = {k: today - timedelta(days=d) for k, d in (("offered", offered), ("accepted", accepted),
                                                         ("signed", signed))}
        loan = _signed(need, owner, bank, echo, rate=Decimal(rate), registration=f"渝知质登字第{number:04d}号",
                       **at, **extra)
        if loan is None:
            continue
        _repay(loan, bank, today, repaid)
        if loan.premium_subsidy > 0:
            pay_subsidy(session, staff, loan.id, at["signed"] + timedelta(days=20))  # idempotent
        if title == DEFAULTED:
            _default(loan, bank, echo)
        session.commit()
        done.append(f"loan {loan.id} {loan.status.value}")
    _reindex_needs(echo)
    echo("Loans: " + ("; ".join(done) if done else "nothing new") +
         f"; fund balance {fund_balance(session)}")
    session.commit()


def _default(loan, bank: User, echo) -> None:
    """The post-loan clock finds the missed instalment the day after it fell due; three months of arrears later the
    bank declares the default (the exchange demo lists the pledges)."""
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.OVERDUE):
        return
    missed = loan_schedule(loan)[len(loan.repayments)]
    late = datetime.combine(missed.due_on + timedelta(days=1), datetime.min.time()) + timedelta(hours=1)
    tick(db.session, late.date(), late)
    declared = late + timedelta(days=DEFAULT_AFTER_OVERDUE_DAYS)
    try:
        declare_default(db.session, bank, loan.id, declared,
                        reason="企业停止还本付息，逾期已超过政策规定的宽限期，催收无果")
    except DomainError as exc:
        db.session.rollback()
        echo(f"Loans demo: default of loan {loan.id}: {exc.message % exc.params if exc.params else exc.message}")


def _reindex_needs(echo) -> None:
    try:
        written = reindex(db.session, get_backend())
        db.session.commit()
        echo(f"Needs index: {written} published needs")
    except SearchError as exc:
        db.session.rollback()
        echo(f"Needs index not rebuilt ({exc}); run `market needs reindex` later")
