"""Reference tables loaded from the real data sets: districts, towns, industries (GB/T 4754-2017), IPC titles,
and Chongqing's staff-editable industry groups."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base


class District(Base):
    """A county-level unit of Chongqing (26 districts + 12 counties)."""

    __tablename__ = "district"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # 市辖区 or 县


class Town(Base):
    __tablename__ = "town"
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)


class Industry(Base):
    """One row of GB/T 4754-2017 at any level (门类 A … 小类 4-digit)."""

    __tablename__ = "industry"
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    level: Mapped[int]
    section: Mapped[str] = mapped_column(String(1), index=True)
    name: Mapped[str] = mapped_column(String(120))
    remark: Mapped[str | None] = mapped_column(Text)


class IndustryGroup(Base):
    """Chongqing's '6+1' pillar and '2+10' strategic emerging industry groups."""

    __tablename__ = "industry_group"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    family: Mapped[str] = mapped_column(String(20))  # pillar | strategic
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(120))


class IndustryGroupMember(Base):
    """A GB/T 4754 code (any level; prefixes match their descendants) that belongs to a group."""

    __tablename__ = "industry_group_member"
    group_code: Mapped[str] = mapped_column(ForeignKey("industry_group.code"), primary_key=True)
    industry_code: Mapped[str] = mapped_column(ForeignKey("industry.code"), primary_key=True)


class IpcTitle(Base):
    """IPC section, class or subclass with its English title (WIPO) and Chinese title where known."""

    __tablename__ = "ipc_title"
    symbol: Mapped[str] = mapped_column(String(4), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    title_en: Mapped[str] = mapped_column(Text)
    title_zh: Mapped[str | None] = mapped_column(String(60))
