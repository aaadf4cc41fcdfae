"""Organisations of every kind, the users who act for them, and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db import Base, enum_type


class OrgKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    BANK = "bank"
    VALUATION_AGENCY = "valuation_agency"
    GUARANTOR = "guarantor"
    INSURER = "insurer"
    EXCHANGE = "exchange"
    INVESTOR = "investor"  # a company that only bids on disposed IP


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Role(enum.StrEnum):
    ENTERPRISE = "enterprise"
    BANK = "bank"
    BIDDER = "bidder"
    STAFF = "staff"
    VALUER = "valuer"
    GUARANTOR = "guarantor"
    INSURER = "insurer"


# The organisation kind a role acts for; a bidder may also be a person with no organisation.
ROLE_ORG_KIND: dict[Role, OrgKind] = {
    Role.ENTERPRISE: OrgKind.ENTERPRISE,
    Role.BANK: OrgKind.BANK,
    Role.BIDDER: OrgKind.INVESTOR,
    Role.STAFF: OrgKind.EXCHANGE,
    Role.VALUER: OrgKind.VALUATION_AGENCY,
    Role.GUARANTOR: OrgKind.GUARANTOR,
    Role.INSURER: OrgKind.INSURER,
}


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind), index=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[OrgStatus] = mapped_column(enum_type(OrgStatus), default=OrgStatus.PENDING, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]

    users: Mapped[list[User]] = relationship(back_populates="organisation")
    district = relationship("District")
    industry = relationship("Industry")

    @property
    def is_verified(self) -> bool:
        return self.status is OrgStatus.VERIFIED


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[Role] = mapped_column(enum_type(Role), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change so other sessions of the account are logged out.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def can_act(self) -> bool:
        """Verified organisation (or a person bidder) and an active account: allowed to change market state."""
        if not self.active:
            return False
        if self.organisation is None:
            return self.role is Role.BIDDER
        return self.organisation.is_verified


class ApiToken(Base):
    """A bearer token for the JSON API. Only a hash of the secret is stored."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[str] = mapped_column(String(200), default="read write")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed log-ins per e-mail address, registered or not (so a lock does not tell which addresses exist).
    Consecutive failures past a threshold lock the address for a growing time; a successful log-in clears it."""

    __tablename__ = "login_throttle"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
