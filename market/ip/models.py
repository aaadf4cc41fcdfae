"""IP assets of every kind the policy may allow, with the patent data banks look at, and their pledge state."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db import Base, enum_type
from market.policy.kinds import IpKind

PATENT_KINDS = frozenset({IpKind.INVENTION, IpKind.UTILITY_MODEL, IpKind.DESIGN})


class LegalStatus(enum.StrEnum):
    APPLICATION = "application"  # published, under examination: not yet a right
    GRANTED = "granted"  # in force
    LAPSED = "lapsed"  # terminated, e.g. annual fees unpaid
    INVALIDATED = "invalidated"
    EXPIRED = "expired"  # term ended
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    UNKNOWN = "unknown"  # the source gave no usable status (e.g. 无数据, 著录事项变更): never pledgeable


VALID_STATUSES = frozenset({LegalStatus.GRANTED})


class PledgeState(enum.StrEnum):
    FREE = "free"
    PLEDGED = "pledged"
    IN_DISPOSAL = "in_disposal"


class IpAsset(Base):
    __tablename__ = "ip_asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IpKind] = mapped_column(enum_type(IpKind), index=True)
    # Patents: CNIPA application number, normalised without "CN" and dot, e.g. 2017101064521 (12 digits + check).
    application_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    publication_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    registration_number: Mapped[str | None] = mapped_column(String(40))  # trademarks, copyrights, IC layouts
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str | None] = mapped_column(Text)
    ipc_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. ["H01M", "H01M10/0525"]
    applicants: Mapped[str | None] = mapped_column(String(500))  # " ; "-separated, as CNIPA lists them
    inventors: Mapped[str | None] = mapped_column(String(500))
    owner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    filing_date: Mapped[date | None]
    publication_date: Mapped[date | None]
    grant_date: Mapped[date | None]
    legal_status: Mapped[LegalStatus] = mapped_column(enum_type(LegalStatus), index=True)
    legal_status_raw: Mapped[str | None] = mapped_column(String(60))  # the CNIPA wording, e.g. 专利权的终止
    legal_status_date: Mapped[date | None]
    pledge_state: Mapped[PledgeState] = mapped_column(enum_type(PledgeState), default=PledgeState.FREE, index=True)
    frozen: Mapped[bool] = mapped_column(default=False)  # judicial freeze / dispute: cannot be pledged
    source: Mapped[str | None] = mapped_column(String(120))  # where the record came from (import file, owner)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    owner = relationship("Organisation")


class SavedSearch(Base):
    """A bank user's saved patent search; new patents matching it raise a notice (see market.ip.saved)."""

    __tablename__ = "saved_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    owner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict] = mapped_column(JSON, default=dict)  # canonical search args: q, sort, filters, pledgeable…
    created_at: Mapped[datetime]
    last_checked_at: Mapped[datetime]  # patents created after this are "new" for the next alert
    last_seen_at: Mapped[datetime]  # when the owner last opened it: the card counts matches created since

    new_count = 0  # not stored: matches since last seen, set by the reader that counts them (None: engine down)
