"""Disposal listings of IP (auction, licence, fixed-price sale), bidders' deposits, every bid, and the lot's ledger."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db import Base, Money, Rate, enum_type


class ListingSource(enum.StrEnum):
    DEFAULT = "default"  # a defaulted pledge, put up by the lending bank
    VOLUNTARY = "voluntary"  # the owner transfers or licenses


class ListingKind(enum.StrEnum):
    AUCTION = "auction"
    LICENCE = "licence"  # an auction of a licence rather than the right itself
    FIXED_PRICE = "fixed_price"  # 变卖 after a failed re-auction: first buyer at the price wins


class ListingStatus(enum.StrEnum):
    DRAFT = "draft"
    UNDER_REVIEW = "under_review"
    ANNOUNCED = "announced"
    BIDDING = "bidding"
    SOLD = "sold"  # closed with a winner, awaiting payment
    FAILED = "failed"  # closed without a bid
    UNPAID = "unpaid"  # the winner did not pay by the deadline: deposit forfeited
    SETTLED = "settled"
    CANCELLED = "cancelled"


class DepositStatus(enum.StrEnum):
    HELD = "held"
    REFUNDED = "refunded"
    FORFEITED = "forfeited"
    APPLIED = "applied"  # counted towards the winner's price


class PreemptionKind(enum.StrEnum):
    CO_OWNER = "co_owner"
    EXCLUSIVE_LICENSEE = "exclusive_licensee"


# A listing in one of these states holds its asset: at most one per asset (the partial unique index below).
LIVE_STATUSES = ("draft", "under_review", "announced", "bidding", "sold")
_LIVE = text("status IN ({})".format(", ".join(f"'{s}'" for s in LIVE_STATUSES)))


class NoticeMethod(enum.StrEnum):
    """How a party or pre-emption holder was told of the coming announcement."""

    LETTER = "letter"
    EMAIL = "email"
    PHONE = "phone"
    IN_PERSON = "in_person"
    PLATFORM = "platform"  # a notice in their account on this market


class Listing(Base):
    __tablename__ = "listing"
    __table_args__ = (
        Index("uq_listing_live_asset", "asset_id", unique=True, sqlite_where=_LIVE, postgresql_where=_LIVE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_asset.id"), index=True)
    source: Mapped[ListingSource] = mapped_column(enum_type(ListingSource))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loan.id"), index=True)  # the defaulted loan
    kind: Mapped[ListingKind] = mapped_column(enum_type(ListingKind), default=ListingKind.AUCTION)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    seller_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    owner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    bank_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    valuation: Mapped[Decimal] = mapped_column(Money)
    starting_price: Mapped[Decimal] = mapped_column(Money)
    increment: Mapped[Decimal] = mapped_column(Money)
    deposit_amount: Mapped[Decimal] = mapped_column(Money)
    notice_starts_at: Mapped[datetime]
    bidding_starts_at: Mapped[datetime]
    scheduled_ends_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)  # moves with late bids
    status: Mapped[ListingStatus] = mapped_column(enum_type(ListingStatus), default=ListingStatus.DRAFT, index=True)
    round: Mapped[int] = mapped_column(default=1)  # 1 first auction, 2 re-auction, 3 fixed-price sale
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    current_price: Mapped[Decimal | None] = mapped_column(Money)
    bid_count: Mapped[int] = mapped_column(default=0)
    extension_count: Mapped[int] = mapped_column(default=0)  # late bids that moved the end
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    leader_preemption: Mapped[bool] = mapped_column(default=False)
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    sale_price: Mapped[Decimal | None] = mapped_column(Money)
    closed_at: Mapped[datetime | None]
    payment_due_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    rules_version: Mapped[str] = mapped_column(String(60))
    # licence lots (kind=licence): what the winner is granted
    licence_exclusive: Mapped[bool | None]
    licence_territory: Mapped[str | None] = mapped_column(String(200))
    licence_term_months: Mapped[int | None]
    licence_royalty: Mapped[Decimal | None] = mapped_column(Rate)  # fraction of net sales on top of the price
    checklist: Mapped[dict] = mapped_column(JSON, default=dict)
    review_note: Mapped[str | None] = mapped_column(String(500))
    due_diligence: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    asset = relationship("IpAsset")
    seller = relationship("Organisation", foreign_keys=[seller_org_id])
    previous = relationship("Listing", remote_side=[id])


class PreemptionRight(Base):
    """A known holder of a pre-emption right on the lot (registered by staff): told >= 3 days before the
    announcement like the parties, and wins a tie at equal price when bidding through `user_id` (see rules.py)."""

    __tablename__ = "listing_preemption"
    __table_args__ = (UniqueConstraint("listing_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # their bidder account, if any
    kind: Mapped[PreemptionKind] = mapped_column(enum_type(PreemptionKind))
    notified_at: Mapped[datetime | None]  # the earliest recorded notice to them
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    registered_at: Mapped[datetime | None]

    user = relationship("User", foreign_keys=[user_id])


class PreemptionNotice(Base):
    """One time a pre-emption holder was told of the coming disposal: when, how, and which staff member recorded it."""

    __tablename__ = "listing_preemption_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    preemption_id: Mapped[int] = mapped_column(ForeignKey("listing_preemption.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    told_at: Mapped[datetime]
    method: Mapped[NoticeMethod] = mapped_column(enum_type(NoticeMethod))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime]


class Deposit(Base):
    __tablename__ = "listing_deposit"
    __table_args__ = (UniqueConstraint("listing_id", "bidder_id"), UniqueConstraint("listing_id", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code: Mapped[str] = mapped_column(String(8))  # shown as 竞买人 A3F2 while bidding
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[DepositStatus] = mapped_column(enum_type(DepositStatus), default=DepositStatus.HELD)
    paid_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    terms_version: Mapped[str | None] = mapped_column(String(80))  # the announcement and bidder terms accepted
    terms_accepted_at: Mapped[datetime | None]

    bidder = relationship("User")


class Bid(Base):
    """Every bid that reached the server, accepted or not (the rules ask to keep every bid record)."""

    __tablename__ = "listing_bid"
    __table_args__ = (Index("ix_listing_bid_latest", "listing_id", "accepted", "id"),)  # the latest bids of a lot

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    code: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Money)
    placed_at: Mapped[datetime]  # server time
    accepted: Mapped[bool]
    preemption: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str] = mapped_column(String(20))  # rules.BidVerdict value
    ends_at_after: Mapped[datetime | None]


class LedgerEntry(Base):
    """Money movements of one lot (simulated payments): deposits in and out, the price, proceeds to the bank."""

    __tablename__ = "listing_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    entry: Mapped[str] = mapped_column(String(30))  # deposit_paid, deposit_refunded, deposit_forfeited, ...
    amount: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime]
    reference: Mapped[str | None] = mapped_column(String(80))


class Transfer(Base):
    """The record that the right (or licence) passes to the buyer after payment."""

    __tablename__ = "listing_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), unique=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_asset.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    price: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime]
    claim_hook: Mapped[str | None] = mapped_column(String(200))  # what happened with the loss hand-off

    buyer = relationship("User")


class ObjectionStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the lot is cancelled
    DISMISSED = "dismissed"


class Objection(Base):
    """An objection raised during the announcement period (异议); exchange staff resolve it."""

    __tablename__ = "listing_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ObjectionStatus] = mapped_column(enum_type(ObjectionStatus), default=ObjectionStatus.OPEN,
                                                    index=True)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution: Mapped[str | None] = mapped_column(String(500))

    user = relationship("User", foreign_keys=[user_id])
