"""Demo data: every real patent (9,740 title/IPC records + 866 CNIPA legal-status records), a few hundred of
them assigned to the demo enterprises, then the index.

The title/IPC set has no dates. For the patents given to the demo enterprises, plausible filing and grant dates
are derived deterministically from the publication number (its serial range tells the publication year), and a
share of the published applications is marked granted. These dates are demo values, not CNIPA facts; the other
patents stay ownerless "database" records exactly as the source gives them.
"""

from __future__ import annotations

import zlib
from datetime import date, timedelta

from sqlalchemy import select

from market.accounts.models import Organisation
from market.db import db, utcnow
from market.ip.importer import import_file
from market.ip.indexing import get_backend, reindex
from market.ip.models import IpKind, LegalStatus
from market.reference.loader import DATA

TITLE_IPC = DATA / "cn-patents-title-ipc" / "cn_patents_title_ipc.csv"
LEGAL_STATUS = DATA / "cn-patents-sipo-legal-status-866" / "cn_patents_legal_status.csv"
BATTERY_ORG = "重庆渝新锂电科技有限公司"
ROBOT_ORG = "重庆两江智能装备有限公司"
# Publication-number prefix → (earliest plausible filing date, window in days).
FILING_WINDOWS = {
    "CN106": (date(2015, 1, 1), 365), "CN108": (date(2016, 6, 1), 365), "CN109": (date(2017, 6, 1), 365),
    "CN110": (date(2018, 1, 1), 365), "CN111": (date(2018, 9, 1), 365), "CN112": (date(2019, 6, 1), 365),
    "CN113": (date(2020, 3, 1), 400), "CN114": (date(2021, 3, 1), 330), "CN215": (date(2021, 1, 1), 240),
    "CN216": (date(2021, 5, 1), 240),
}


def _seed(number: str) -> int:
    return zlib.crc32(number.encode())


def demo_dates(data, today: date) -> None:
    """Give an owned title/IPC patent plausible dates (and grant ~60 % of the published applications)."""
    number = data.publication_number or ""
    start, window = FILING_WINDOWS.get(number[:5], (date(2019, 1, 1), 730))
    seed = _seed(number)
    data.filing_date = start + timedelta(days=seed % window)
    data.publication_date = data.filing_date + timedelta(days=120 + seed % 300)
    if data.kind is IpKind.INVENTION and data.legal_status is LegalStatus.APPLICATION and seed % 10 < 6:
        data.legal_status = LegalStatus.GRANTED
        data.legal_status_raw = "发明专利权授予 (演示)"
    if data.legal_status is LegalStatus.GRANTED:
        lag = 150 + seed % 200 if data.kind is not IpKind.INVENTION else 700 + seed % 500
        data.grant_date = min(data.filing_date + timedelta(days=lag), today - timedelta(days=1))
        data.publication_date = data.grant_date if data.kind is not IpKind.INVENTION else data.publication_date
        data.legal_status_date = data.grant_date
    data.publication_date = min(data.publication_date, today - timedelta(days=1))
    if seed % 7 == 0:
        data.abstract = None


def load_demo_patents(echo=print) -> dict:
    now = utcnow()
    orgs = {o.name: o for o in db.session.scalars(select(Organisation).where(
        Organisation.name.in_([BATTERY_ORG, ROBOT_ORG])))}
    owned = {BATTERY_ORG: 0, ROBOT_ORG: 0}

    def assign(data):
        title = data.title or ""
        name = BATTERY_ORG if ("电池" in title or "锂" in title) else ROBOT_ORG if "机器人" in title else None
        if name is None or name not in orgs:
            return None
        owned[name] += 1
        demo_dates(data, now.date())
        data.applicants = data.applicants or name
        return orgs[name]

    first = import_file(db.session, None, TITLE_IPC, now, assign=assign)
    db.session.commit()
    second = import_file(db.session, None, LEGAL_STATUS, now)
    db.session.commit()
    echo(f"Patents: {first.total} title/IPC rows ({first.created} new, {first.updated} updated, "
         f"{len(first.rejected)} rejected), {second.total} legal-status rows ({second.created} new, "
         f"{second.updated} updated, {len(second.rejected)} rejected); owned by demo enterprises: {owned}")
    try:
        written = reindex(db.session, get_backend(), now)
        db.session.commit()
        echo(f"Patent index built: {written} documents.")
    except Exception as exc:  # noqa: BLE001 - the demo still serves; `market search reindex` later
        db.session.rollback()
        echo(f"Patent index NOT built ({exc}); run `market search reindex` when the engine is up.")
    return {"title_ipc": first, "legal_status": second, "owned": owned}
