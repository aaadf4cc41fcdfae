"""Loans, pledges, repayments, post-loan watch flags, compensation claims and the compensation fund ledger."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db import Base, Money, Rate, enum_type
from market.policy.models import Policy
from market.policy.regional import CollateralKind, LoanModel


class LoanStatus(enum.StrEnum):
    PENDING = "pending"  # recorded by the bank, waits for the enterprise's confirmation: no pledge exists yet
    DECLINED = "declined"  # the enterprise refused it (or the bank withdrew it): never took effect
    ACTIVE = "active"
    OVERDUE = "overdue"
    DEFAULTED = "defaulted"
    IN_DISPOSAL = "in_disposal"
    REPAID = "repaid"
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"


OPEN_STATUSES = (LoanStatus.ACTIVE, LoanStatus.OVERDUE)


class Consent(enum.StrEnum):
    """How the enterprise agreed to the loan and its pledges."""

    OFFER = "offer"  # it accepted the bank's offer on its financing need (the need lists the assets)
    CONFIRMED = "confirmed"  # it confirmed the loan the bank recorded


class DefaultBasis(enum.StrEnum):
    """Why a loan is in default."""

    OVERDUE = "overdue"  # an instalment was overdue past the policy's grace period
    STAFF = "staff"  # exchange staff confirmed the bank's request, with a reason


class RecoverySource(enum.StrEnum):
    """Where a claim's recovery figure comes from."""

    EXCHANGE = "exchange"  # the exchange's settlement of the loan's disposal lots
    DECLARED = "declared"  # typed by the bank (or staff) with evidence that staff must verify


class RepaymentMethod(enum.StrEnum):
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    BULLET = "bullet"  # 按月付息、到期还本


class Loan(Base):
    __tablename__ = "loan"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    enterprise_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("loan_policy.id"))
    principal: Mapped[Decimal] = mapped_column(Money)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    benchmark_rate: Mapped[Decimal] = mapped_column(Rate)  # benchmark (or LPR, by the policy's mode) at signing
    rate_within_cap: Mapped[bool]
    term_months: Mapped[int] = mapped_column(Integer)
    repayment_method: Mapped[RepaymentMethod] = mapped_column(enum_type(RepaymentMethod),
                                                              default=RepaymentMethod.EQUAL_PRINCIPAL)
    signed_on: Mapped[date] = mapped_column(index=True)
    maturity: Mapped[date]
    status: Mapped[LoanStatus] = mapped_column(enum_type(LoanStatus), default=LoanStatus.ACTIVE, index=True)
    guarantor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    guarantee_coverage: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    guarantee_premium: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    insurer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    insurance_coverage: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    insurance_premium: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    premium_subsidy: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    collateral_text: Mapped[str | None] = mapped_column(Text)  # tangible collateral, in words (see `collateral`)
    # The regions' models (market.policy.regional): Chongqing's multi-party pledge by default; Shanghai's guarantee
    # with a counter-guarantee (who, with what security, the share of the guarantor's payment it repays); Jiangsu's
    # relationship lending (recommended by whom, on which day; no guarantee); Tianjin's combined pledge (the
    # tangible assets in `collateral`, each valued).
    loan_model: Mapped[LoanModel] = mapped_column(enum_type(LoanModel), default=LoanModel.CHONGQING)
    counter_guarantor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    counter_guarantee_security: Mapped[str | None] = mapped_column(String(300))
    counter_guarantee_share: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    recommended_by: Mapped[str | None] = mapped_column(String(200))
    recommended_on: Mapped[date | None]
    offer_id: Mapped[int | None] = mapped_column(Integer, index=True)  # market.needs Offer, when it came from one
    # Consent of the enterprise: none while pending. `proposal` keeps what the enterprise is asked to pledge
    # ({"asset_ids", "registration_number", "registered_on"}) until it confirms; the pledges are written then.
    consent: Mapped[Consent | None] = mapped_column(enum_type(Consent))
    consented_at: Mapped[datetime | None]
    consented_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    proposal: Mapped[dict | None] = mapped_column(JSON)
    # Default: its basis, the bank's (or staff's) reason and the overdue facts judged at the time.
    default_basis: Mapped[DefaultBasis | None] = mapped_column(enum_type(DefaultBasis))
    default_reason: Mapped[str | None] = mapped_column(String(500))
    default_facts: Mapped[dict | None] = mapped_column(JSON)
    default_requested_at: Mapped[datetime | None] = mapped_column(index=True)  # the bank asked staff to confirm
    default_request_reason: Mapped[str | None] = mapped_column(String(500))
    default_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    defaulted_on: Mapped[date | None]
    closed_at: Mapped[datetime | None]

    bank = relationship("Organisation", foreign_keys=[bank_org_id])
    enterprise = relationship("Organisation", foreign_keys=[enterprise_org_id])
    guarantor = relationship("Organisation", foreign_keys=[guarantor_org_id])
    insurer = relationship("Organisation", foreign_keys=[insurer_org_id])
    counter_guarantor = relationship("Organisation", foreign_keys=[counter_guarantor_org_id])
    policy = relationship(Policy)
    collateral: Mapped[list[CollateralItem]] = relationship(back_populates="loan",
                                                            order_by="market.loans.models.CollateralItem.id")
    pledges: Mapped[list[Pledge]] = relationship(back_populates="loan", order_by="market.loans.models.Pledge.id")
    repayments: Mapped[list[Repayment]] = relationship(back_populates="loan",
                                                       order_by="market.loans.models.Repayment.id")
    flags: Mapped[list[WatchFlag]] = relationship(back_populates="loan", order_by="market.loans.models.WatchFlag.id")


class CollateralItem(Base):
    """A tangible asset bundled with the IP pledge of a loan (Tianjin's combined pledge), with its valuation."""

    __tablename__ = "loan_collateral"
    __table_args__ = (CheckConstraint("valuation > 0", name="collateral_valuation_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    kind: Mapped[CollateralKind] = mapped_column(enum_type(CollateralKind))
    description: Mapped[str] = mapped_column(String(300))
    valuation: Mapped[Decimal] = mapped_column(Money)

    loan: Mapped[Loan] = relationship(back_populates="collateral")


class Pledge(Base):
    """A registered pledge of one IP asset for one loan. At most one ACTIVE pledge per asset (partial unique index)."""

    __tablename__ = "pledge"
    __table_args__ = (
        Index("uq_pledge_active_asset", "asset_id", unique=True,
              sqlite_where=text("active = 1"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_asset.id"), index=True)
    registration_number: Mapped[str] = mapped_column(String(60))
    registered_on: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    released_at: Mapped[datetime | None]

    loan: Mapped[Loan] = relationship(back_populates="pledges")
    asset = relationship("IpAsset")


class Repayment(Base):
    __tablename__ = "loan_repayment"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    paid_on: Mapped[date]
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]

    loan: Mapped[Loan] = relationship(back_populates="repayments")


class WatchFlag(Base):
    """Post-loan monitoring: something happened to a pledged asset (lapsed, invalidated, transferred, ...)."""

    __tablename__ = "loan_watch_flag"
    __table_args__ = (UniqueConstraint("pledge_id", "reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"))
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_asset.id"))
    reason: Mapped[str] = mapped_column(String(30))  # lapsed / invalidated / expired / transferred / overdue
    raised_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    loan: Mapped[Loan] = relationship(back_populates="flags")
    asset = relationship("IpAsset")


class CompensationStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # assembled, waits for staff
    APPROVED = "approved"  # approved, waits in the payment queue (FIFO by approval time)
    PAID = "paid"
    REJECTED = "rejected"
    NOT_COVERED = "not_covered"  # nothing to pay (rate above cap, no loss)


class CompensationClaim(Base):
    """A risk-compensation claim: one per loan."""

    __tablename__ = "loan_claim"
    __table_args__ = (UniqueConstraint("loan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("loan_policy.id"))
    outstanding_principal: Mapped[Decimal] = mapped_column(Money)
    recovery: Mapped[Decimal] = mapped_column(Money)
    loss: Mapped[Decimal] = mapped_column(Money)
    collateral_share: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))  # tangible collateral (Tianjin)
    guarantor_share: Mapped[Decimal] = mapped_column(Money)  # what the guarantor pays the bank
    counter_guarantor_share: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))  # repaid to it (Shanghai)
    insurer_share: Mapped[Decimal] = mapped_column(Money)
    bank_loss: Mapped[Decimal] = mapped_column(Money)
    compensation: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(300))  # msgid when not covered
    recovery_source: Mapped[RecoverySource] = mapped_column(enum_type(RecoverySource),
                                                            default=RecoverySource.EXCHANGE)
    recovery_evidence: Mapped[str | None] = mapped_column(Text)  # a declared recovery: what proves it
    evidence_verified_at: Mapped[datetime | None]
    evidence_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_reason: Mapped[str | None] = mapped_column(String(500))  # why staff rejected it
    reason_params: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[CompensationStatus] = mapped_column(enum_type(CompensationStatus),
                                                       default=CompensationStatus.SUBMITTED, index=True)
    created_at: Mapped[datetime]
    approved_at: Mapped[datetime | None] = mapped_column(index=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    paid_at: Mapped[datetime | None]

    loan: Mapped[Loan] = relationship()


class Fund(Base):
    """The compensation fund's cash balance, a cache of the fund_cash ledger account kept with a compare-and-set
    update (`balance >= amount`) and a CHECK constraint, so it can never go negative even under concurrency."""

    __tablename__ = "loan_fund"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money)


class LedgerAccount(enum.StrEnum):
    FUND_CASH = "fund_cash"
    COMPENSATION_PAID = "compensation_paid"
    SUBSIDIES_PAID = "subsidies_paid"
    FUND_CONTRIBUTIONS = "fund_contributions"
    REWARDS_PAID = "rewards_paid"  # intermediary rewards (third in the spending order)
    INTEREST_SUBSIDIES_PAID = "interest_subsidies_paid"  # enterprise interest subsidy (fourth)


class LedgerTxn(Base):
    """One balanced double-entry transaction; `ref` is unique so a payment is written at most once."""

    __tablename__ = "loan_ledger_txn"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(60), unique=True)  # claim:12, subsidy:loan:7, contribution:<uuid>
    kind: Mapped[str] = mapped_column(String(30))
    memo: Mapped[str | None] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Money)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]

    lines: Mapped[list[LedgerLine]] = relationship(back_populates="txn", order_by="market.loans.models.LedgerLine.id")


class LedgerLine(Base):
    """Debit positive, credit negative; the lines of a transaction sum to zero."""

    __tablename__ = "loan_ledger_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    txn_id: Mapped[int] = mapped_column(ForeignKey("loan_ledger_txn.id"), index=True)
    account: Mapped[LedgerAccount] = mapped_column(enum_type(LedgerAccount), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    txn: Mapped[LedgerTxn] = relationship(back_populates="lines")


class GrantKind(enum.StrEnum):
    """The fund's spending after credit enhancement and compensation; values are the policy's spending categories."""

    INTERMEDIARY_REWARD = "intermediary_rewards"
    INTEREST_SUBSIDY = "enterprise_interest_subsidy"


class GrantStatus(enum.StrEnum):
    WAITING = "waiting"  # granted, waits for the fund (behind every claim and every earlier category)
    PAID = "paid"


class FundGrant(Base):
    """An intermediary reward or an enterprise interest subsidy that staff granted; paid from the fund in the
    policy's spending order. `ref` (unique) is also the ledger reference of its payment."""

    __tablename__ = "loan_fund_grant"
    __table_args__ = (CheckConstraint("amount > 0", name="grant_amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(60), unique=True)  # reward:loan:7:org:3, interest:loan:7:2
    kind: Mapped[GrantKind] = mapped_column(enum_type(GrantKind), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # who is paid
    policy_id: Mapped[int] = mapped_column(ForeignKey("loan_policy.id"))
    basis: Mapped[Decimal] = mapped_column(Money)  # the principal (reward) or the interest paid to date (subsidy)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[GrantStatus] = mapped_column(enum_type(GrantStatus), default=GrantStatus.WAITING, index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]

    loan: Mapped[Loan] = relationship()
    org = relationship("Organisation")
