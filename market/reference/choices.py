"""Select-field choices built from the reference tables, labelled in the current language."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.formkit import choices
from market.reference.models import District, Industry, IndustryGroup, IpcTitle

IPC_SECTION_ZH = {
    "A": "人类生活必需",
    "B": "作业；运输",
    "C": "化学；冶金",
    "D": "纺织；造纸",
    "E": "固定建筑物",
    "F": "机械工程；照明；加热；武器；爆破",
    "G": "物理",
    "H": "电学",
}


def district_choices(session: Session) -> list:
    rows = session.scalars(select(District).order_by(District.code)).all()
    return choices([("", _l("— choose —"))] + [(d.code, d.name) for d in rows])


def industry_choices(session: Session) -> list:
    """GB/T 4754 divisions (大类), prefixed by their section letter, e.g. 'C 39 计算机、通信和其他电子设备制造业'."""
    rows = session.scalars(select(Industry).where(Industry.level == 2).order_by(Industry.code)).all()
    return choices([("", _l("— choose —"))] + [(i.code, f"{i.section} {i.code} {i.name}") for i in rows])


def industry_group_names(session: Session) -> dict[str, str]:
    """Chongqing's industry groups (pillar and strategic emerging industries), code → name in the reader's language,
    in the order their forms list them."""
    english = str(get_locale()) == "en"
    rows = session.scalars(select(IndustryGroup).order_by(IndustryGroup.family, IndustryGroup.code))
    return {g.code: (g.name_en or g.name_zh) if english else g.name_zh for g in rows}


def ipc_title(session: Session, symbol: str) -> str:
    """Chinese title where known (sections), English otherwise."""
    row = session.get(IpcTitle, symbol)
    if row is None:
        return symbol
    if str(get_locale()).startswith("zh") and row.title_zh:
        return row.title_zh
    return row.title_en
