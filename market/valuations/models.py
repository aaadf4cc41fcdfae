"""Valuation reports (评估报告) of IP assets, declared conflicts of interest of valuers, and the expert pool
(知识产权评估专家库): expert profiles with IPC specialities and the consultations enterprises ask them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db import Base, Money, enum_type


class ValueType(enum.StrEnum):
    """The value types the paper lists for IP valuation (姜楠 2015)."""

    MARKET = "market"  # 市场价值
    NORMAL_LIQUIDATION = "normal_liquidation"  # 正常变现价值
    IN_USE = "in_use"  # 在用价值
    MORTGAGE_LENDING = "mortgage_lending"  # 抵押贷款价值
    RECOVERABLE = "recoverable"  # 可受偿价值
    LIQUIDATION = "liquidation"  # 清算价值


class ValuationMethod(enum.StrEnum):
    INCOME = "income"  # 收益法
    MARKET = "market"  # 市场法
    COST = "cost"  # 成本法


class ValuationStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    WITHDRAWN = "withdrawn"  # withdrawn by the agency or superseded by a newer report


# Reports that exist for others (a draft is the agency's own work in progress).
REPORT_STATUSES = (ValuationStatus.ISSUED, ValuationStatus.WITHDRAWN)


class Valuation(Base):
    __tablename__ = "valuation"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      CheckConstraint("valid_until >= valuation_date", name="validity_after_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_asset.id"), index=True)
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    valuer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    value_type: Mapped[ValueType] = mapped_column(enum_type(ValueType))
    amount: Mapped[Decimal] = mapped_column(Money)
    valuation_date: Mapped[date] = mapped_column(index=True)  # 评估基准日
    valid_until: Mapped[date]  # last day the report may be relied on
    method: Mapped[ValuationMethod] = mapped_column(enum_type(ValuationMethod))
    # The responsible signer (签字评估师) is accountable for the figure.
    signer_name: Mapped[str] = mapped_column(String(60))
    signer_qualification: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ValuationStatus] = mapped_column(enum_type(ValuationStatus), default=ValuationStatus.DRAFT,
                                                    index=True)
    file_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # random stored name under uploads
    file_name: Mapped[str | None] = mapped_column(String(200))  # the uploader's name, for the download
    file_size: Mapped[int | None]
    created_at: Mapped[datetime]
    issued_at: Mapped[datetime | None] = mapped_column(index=True)
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("valuation.id"))

    asset = relationship("IpAsset")
    agency = relationship("Organisation")
    valuer = relationship("User")

    @property
    def has_file(self) -> bool:
        return self.file_key is not None

    def in_force(self, on: date) -> bool:
        """Issued, not withdrawn by `on`, and `on` lies between the valuation date and the validity end."""
        if self.status is ValuationStatus.DRAFT or self.issued_at is None:
            return False
        if self.withdrawn_at is not None and self.withdrawn_at.date() <= on:
            return False
        return self.valuation_date <= on <= self.valid_until


class ConflictDeclaration(Base):
    """A declared tie (利害关系) of a valuer, or of a whole agency, with an organisation or one asset."""

    __tablename__ = "valuation_conflict"
    __table_args__ = (
        CheckConstraint("valuer_id IS NOT NULL OR agency_org_id IS NOT NULL", name="who"),
        CheckConstraint("tied_org_id IS NOT NULL OR asset_id IS NOT NULL", name="what"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    valuer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    agency_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    tied_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("ip_asset.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    declared_at: Mapped[datetime]

    valuer = relationship("User", foreign_keys=[valuer_id])
    tied_org = relationship("Organisation", foreign_keys=[tied_org_id])
    asset = relationship("IpAsset")


class ExpertProfile(Base):
    """A valuer listed in the expert pool, with a bio and IPC specialities."""

    __tablename__ = "expert_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    title: Mapped[str | None] = mapped_column(String(60))  # e.g. 资产评估师 / 专利代理师
    bio: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    user = relationship("User")
    specialities: Mapped[list[ExpertSpeciality]] = relationship(
        cascade="all, delete-orphan", order_by="ExpertSpeciality.ipc_symbol")

    @property
    def symbols(self) -> list[str]:
        return sorted(s.ipc_symbol for s in self.specialities)


class ExpertSpeciality(Base):
    """An IPC section (H), class (H01) or subclass (H01M) the expert knows."""

    __tablename__ = "expert_speciality"

    expert_id: Mapped[int] = mapped_column(ForeignKey("expert_profile.id"), primary_key=True)
    ipc_symbol: Mapped[str] = mapped_column(ForeignKey("ipc_title.symbol"), primary_key=True)

    ipc = relationship("IpcTitle")


class ConsultationStatus(enum.StrEnum):
    REQUESTED = "requested"
    ANSWERED = "answered"
    CLOSED = "closed"


class Consultation(Base):
    """An enterprise's question to an expert about one of its needs or assets, answered with a financing plan."""

    __tablename__ = "consultation"
    __table_args__ = (
        CheckConstraint("need_id IS NOT NULL OR asset_id IS NOT NULL", name="subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("ip_asset.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert_profile.id"), index=True)
    matched: Mapped[bool] = mapped_column(default=False)  # the platform chose the expert ("match me")
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[ConsultationStatus] = mapped_column(enum_type(ConsultationStatus),
                                                      default=ConsultationStatus.REQUESTED, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    suggested_amount: Mapped[Decimal | None] = mapped_column(Money)
    suggested_term_months: Mapped[int | None]
    suggested_value_type: Mapped[ValueType | None] = mapped_column(enum_type(ValueType))
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    org = relationship("Organisation")
    need = relationship("Need")
    asset = relationship("IpAsset")
    expert: Mapped[ExpertProfile] = relationship()
