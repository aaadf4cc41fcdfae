"""Load the reference tables from the real data sets shipped in market/data (idempotent)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.reference.choices import IPC_SECTION_ZH
from market.reference.models import District, Industry, IndustryGroup, IndustryGroupMember, IpcTitle, Town

DATA = Path(__file__).resolve().parent.parent / "data"

# Chongqing's '6+1' pillar and '2+10' strategic emerging industries as GB/T 4754-2017 codes (a starting mapping;
# staff edit it). A code covers every finer code that starts with it.
INDUSTRY_GROUPS: list[tuple[str, str, str, str, list[str]]] = [
    ("pillar_auto", "pillar", "汽车摩托车", "Automobiles and motorcycles", ["36", "375"]),
    ("pillar_electronics", "pillar", "电子信息", "Electronics and information", ["39"]),
    ("pillar_equipment", "pillar", "装备制造", "Equipment manufacturing", ["34", "35", "371", "373", "374", "38"]),
    ("pillar_chem_med", "pillar", "化工医药", "Chemicals and medicine", ["26", "27", "28", "29"]),
    ("pillar_materials", "pillar", "材料", "Materials", ["30", "31", "32", "33"]),
    ("pillar_energy", "pillar", "能源", "Energy", ["06", "07", "44", "45"]),
    ("pillar_consumer", "pillar", "消费品", "Consumer goods",
     ["13", "14", "15", "17", "18", "19", "20", "21", "22", "23", "24"]),
    ("sei_ic_display", "strategic", "电子核心部件", "Electronic core components", ["397", "398"]),
    ("sei_iot", "strategic", "物联网", "Internet of Things", ["392", "6450"]),
    ("sei_robotics", "strategic", "机器人及智能装备", "Robotics and intelligent equipment", ["349"]),
    ("sei_new_materials", "strategic", "新材料", "New materials", ["265", "3240"]),
    ("sei_transport", "strategic", "高端交通装备", "High-end transport equipment", ["371", "373", "374"]),
    ("sei_nev", "strategic", "新能源汽车及智能汽车", "New-energy and intelligent vehicles", ["3612", "3841"]),
    ("sei_mdi_chem", "strategic", "MDI及化工新材料", "MDI and new chemical materials", ["261", "265"]),
    ("sei_shale_gas", "strategic", "页岩气", "Shale gas", ["072"]),
    ("sei_biomed", "strategic", "生物医药", "Biomedicine", ["27"]),
    ("sei_environment", "strategic", "环保产业", "Environmental protection", ["3591", "77"]),
    ("sei_software", "strategic", "软件和信息服务", "Software and information services", ["65"]),
    ("sei_cloud", "strategic", "云计算及大数据", "Cloud computing and big data", ["643", "6450"]),
]


def _rows(relative: str):
    with (DATA / relative).open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def load_reference(session: Session) -> dict[str, int]:
    """Insert what is missing; never overwrite staff edits. Returns counts of rows added per table."""
    added = {"district": 0, "town": 0, "industry": 0, "ipc_title": 0, "industry_group": 0}
    have = set(session.scalars(select(District.code)))
    for row in _rows("chongqing-admin-divisions/chongqing_districts.csv"):
        if row["code"] not in have:
            kind = "县" if row["city_code"] == "5002" else "市辖区"
            session.add(District(code=row["code"], name=row["name"], kind=kind))
            added["district"] += 1
    session.flush()
    have = set(session.scalars(select(Town.code)))
    for row in _rows("chongqing-admin-divisions/chongqing_towns_streets.csv"):
        if row["code"] not in have:
            session.add(Town(code=row["code"], name=row["name"], district_code=row["district_code"]))
            added["town"] += 1
    have = set(session.scalars(select(Industry.code)))
    for row in _rows("gbt4754-2017-industry-classification/gbt4754_2017.csv"):
        if row["code"] not in have:
            session.add(Industry(code=row["code"], level=int(row["level"]), section=row["section"],
                                 name=row["name"], remark=row["remark"] or None))
            have.add(row["code"])
            added["industry"] += 1
    have = set(session.scalars(select(IpcTitle.symbol)))
    for row in _rows("ipc-scheme-titles-en-wipo/ipc_titles_en_subclass.csv"):
        if row["symbol"] not in have:
            session.add(IpcTitle(symbol=row["symbol"], level=row["level"], title_en=row["title_en"],
                                 title_zh=IPC_SECTION_ZH.get(row["symbol"])))
            added["ipc_title"] += 1
    session.flush()
    industry_codes = set(session.scalars(select(Industry.code)))
    have = set(session.scalars(select(IndustryGroup.code)))
    for code, family, zh, en, members in INDUSTRY_GROUPS:
        if code in have:
            continue
        session.add(IndustryGroup(code=code, family=family, name_zh=zh, name_en=en))
        session.flush()
        for member in members:
            if member in industry_codes:
                session.add(IndustryGroupMember(group_code=code, industry_code=member))
        added["industry_group"] += 1
    session.flush()
    return added


def groups_for_industry(session: Session, industry_code: str | None) -> list[IndustryGroup]:
    """Every group whose member code is a prefix of `industry_code`."""
    if not industry_code:
        return []
    prefixes = [industry_code[:n] for n in range(1, len(industry_code) + 1)]
    return list(session.scalars(
        select(IndustryGroup).join(IndustryGroupMember).where(IndustryGroupMember.industry_code.in_(prefixes))
        .distinct().order_by(IndustryGroup.code)
    ))
