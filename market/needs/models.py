"""Financing needs (融资需求) of enterprises, the bank loan products they are matched with, and the docking
(对接) records that run from a bank's interest to an accepted offer, plus the periodic bulletin editions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db import Base, Money, Rate, enum_type


class NeedStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for staff review
    PUBLISHED = "published"  # visible to banks
    IN_TALKS = "in_talks"  # at least one bank has claimed it; an accepted offer keeps it here until the loan is made
    FUNDED = "funded"  # set by the loans area when the loan is drawn
    CLOSED = "closed"
    REJECTED = "rejected"  # by staff, with reasons; the enterprise may fix and resubmit
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


# What a bank (or anyone but the owner and staff) may see.
PUBLIC_STATUSES = frozenset({NeedStatus.PUBLISHED, NeedStatus.IN_TALKS})
# Open needs hold their assets: an asset may be offered by one open need at a time.
OPEN_STATUSES = frozenset({NeedStatus.DRAFT, NeedStatus.SUBMITTED, NeedStatus.PUBLISHED, NeedStatus.IN_TALKS,
                           NeedStatus.REJECTED})
EDITABLE_STATUSES = frozenset({NeedStatus.DRAFT, NeedStatus.REJECTED})


class Need(Base):
    __tablename__ = "need"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    title: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(Text)
    max_rate: Mapped[Decimal] = mapped_column(Rate)  # highest annual rate accepted, a fraction (0.0600)
    tangible_collateral: Mapped[str | None] = mapped_column(String(500))  # combined pledge (Tianjin model)
    tangible_value: Mapped[Decimal | None] = mapped_column(Money)
    # Classification, copied from the organisation and the assets when submitted (so browsing is plain SQL).
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"), index=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    group_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    ip_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    ipc_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    ipc_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    amount_band: Mapped[str | None] = mapped_column(String(20), index=True)
    status: Mapped[NeedStatus] = mapped_column(enum_type(NeedStatus), default=NeedStatus.DRAFT, index=True)
    review_checklist: Mapped[dict] = mapped_column(JSON, default=dict)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    first_response_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    org = relationship("Organisation", foreign_keys=[org_id])
    industry = relationship("Industry")
    district = relationship("District")
    assets: Mapped[list[NeedAsset]] = relationship(back_populates="need", cascade="all, delete-orphan",
                                                   order_by="NeedAsset.asset_id")
    preferred: Mapped[list[NeedPreferredBank]] = relationship(cascade="all, delete-orphan")
    claims: Mapped[list[Claim]] = relationship(back_populates="need", order_by="Claim.id")
    offers: Mapped[list[Offer]] = relationship(back_populates="need", order_by="Offer.id")

    @property
    def preferred_bank_ids(self) -> list[int]:
        return [p.bank_org_id for p in self.preferred]

    @property
    def asset_ids(self) -> list[int]:
        return [a.asset_id for a in self.assets]

    @property
    def accepted_offer(self) -> Offer | None:
        return next((o for o in self.offers if o.status is OfferStatus.ACCEPTED), None)


class NeedAsset(Base):
    __tablename__ = "need_asset"

    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_asset.id"), primary_key=True, index=True)

    need: Mapped[Need] = relationship(back_populates="assets")
    asset = relationship("IpAsset")


class NeedPreferredBank(Base):
    __tablename__ = "need_preferred_bank"

    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), primary_key=True)
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)

    bank = relationship("Organisation")


class LoanProduct(Base):
    """A bank's IP pledge loan product: the ranges it lends in and what it accepts."""

    __tablename__ = "loan_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    min_amount: Mapped[Decimal] = mapped_column(Money)
    max_amount: Mapped[Decimal] = mapped_column(Money)
    min_term_months: Mapped[int]
    max_term_months: Mapped[int]
    min_rate: Mapped[Decimal] = mapped_column(Rate)
    max_rate: Mapped[Decimal] = mapped_column(Rate)
    accepted_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_industries: Mapped[list[str]] = mapped_column(JSON, default=list)  # GB/T 4754 prefixes; empty = any
    target_groups: Mapped[list[str]] = mapped_column(JSON, default=list)  # industry group codes; empty = any
    requires_guarantee: Mapped[bool] = mapped_column(default=False)
    requires_insurance: Mapped[bool] = mapped_column(default=False)
    max_ltv: Mapped[dict] = mapped_column(JSON, default=dict)  # {"invention": "0.40", ...} as decimal strings
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    bank = relationship("Organisation")


class ClaimStatus(enum.StrEnum):
    INTEREST = "interest"
    MEETING = "meeting"
    OFFER = "offer"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Claim(Base):
    """One bank's docking (对接) with one need: interest → meeting → offer → accepted or declined."""

    __tablename__ = "need_claim"
    __table_args__ = (UniqueConstraint("need_id", "bank_org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), index=True)
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("loan_product.id"))
    status: Mapped[ClaimStatus] = mapped_column(enum_type(ClaimStatus), default=ClaimStatus.INTEREST)
    note: Mapped[str | None] = mapped_column(Text)
    meeting_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    need: Mapped[Need] = relationship(back_populates="claims")
    bank = relationship("Organisation")
    product = relationship("LoanProduct")


class OfferStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Offer(Base):
    """A bank's loan offer on a need; the offered assets are the need's assets."""

    __tablename__ = "need_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("need_claim.id"))
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("loan_product.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    term_months: Mapped[int]
    conditions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OfferStatus] = mapped_column(enum_type(OfferStatus), default=OfferStatus.PENDING, index=True)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    need: Mapped[Need] = relationship(back_populates="offers")
    bank = relationship("Organisation")
    product = relationship("LoanProduct")


class Bulletin(Base):
    """One edition of the periodic bulletin: the needs newly published in [period_start, period_end)."""

    __tablename__ = "need_bulletin"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    need_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    entries: Mapped[list[dict]] = mapped_column(JSON, default=list)  # the needs as published, kept as they were
    published_at: Mapped[datetime]
