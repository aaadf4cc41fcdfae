"""The dashboard's breadth figures: loans by district, by industry (GB/T 4754 division, Chongqing industry group)
and by IP kind, computed live like the rest of `market.stats.figures`."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation
from market.ip.models import IpKind
from market.loans.models import Loan
from market.stats.figures import TOOK_EFFECT, UNKNOWN, ZERO, Row, money


def _rows(counts: dict, sums: dict) -> list[Row]:
    """Rows largest principal first, then by key."""
    return sorted((Row(k, counts[k], sums[k]) for k in counts), key=lambda r: (-r.principal, r.key))


def _grouped(pairs) -> list[Row]:
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for key, principal in pairs:
        counts[key] += 1
        sums[key] += money(principal)
    return _rows(counts, sums)



def loans_by_district(session: Session) -> list[Row]:
    """Loans by the Chongqing district of the borrowing enterprise (— when the enterprise has none)."""
    from market.reference.models import District

    names = dict(session.execute(select(District.code, District.name)).all())
    query = (select(Organisation.district_code, Loan.principal)
             .join(Organisation, Organisation.id == Loan.enterprise_org_id).where(TOOK_EFFECT))
    return _grouped((names.get(code, code) if code else UNKNOWN, p) for code, p in session.execute(query))


def _division(code: str | None) -> str | None:
    """The GB/T 4754-2017 division (大类, two digits) of an industry code at any level below it."""
    if not code or not code[:2].isdigit():
        return None
    return code[:2]


def loans_by_industry_division(session: Session) -> list[Row]:
    """Loans by the GB/T 4754-2017 division (大类) of the enterprise's industry, keyed "39 name"."""
    from market.reference.models import Industry

    names = dict(session.execute(select(Industry.code, Industry.name).where(Industry.level == 2)).all())
    query = (select(Organisation.industry_code, Loan.principal)
             .join(Organisation, Organisation.id == Loan.enterprise_org_id).where(TOOK_EFFECT))
    pairs = []
    for code, principal in session.execute(query):
        division = _division(code)
        pairs.append((f"{division} {names.get(division, '')}".strip() if division else UNKNOWN, principal))
    return _grouped(pairs)


def loans_by_industry_group(session: Session, english: bool = False) -> list[Row]:
    """Loans by Chongqing industry group ("6+1" pillar, "2+10" strategic) of the enterprise's industry, through
    `market.reference.loader.groups_for_industry`. A loan whose industry is in two groups counts in both; one in no
    group counts under —. So the rows can add up to more than all loans."""
    from market.reference.loader import groups_for_industry

    query = (select(Organisation.industry_code, Loan.principal)
             .join(Organisation, Organisation.id == Loan.enterprise_org_id).where(TOOK_EFFECT))
    cache: dict[str | None, list[str]] = {}
    pairs = []
    for code, principal in session.execute(query):
        if code not in cache:
            cache[code] = [g.name_en if english else g.name_zh for g in groups_for_industry(session, code)]
        for name in cache[code] or [UNKNOWN]:
            pairs.append((name, principal))
    return _grouped(pairs)


def loan_primary_kinds(session: Session) -> dict[int, str]:
    """Each loan's IP kind: the kind of its first registered pledge (lowest pledge id)."""
    from market.ip.models import IpAsset
    from market.loans.models import Pledge

    kinds: dict[int, str] = {}
    query = select(Pledge.loan_id, IpAsset.kind).join(IpAsset, IpAsset.id == Pledge.asset_id).order_by(Pledge.id)
    for loan_id, kind in session.execute(query):
        kinds.setdefault(loan_id, IpKind(kind).value)
    return kinds


def loans_by_ip_kind(session: Session) -> list[Row]:
    """Loans by the kind of their first pledged asset (key: the IpKind value; — for a loan with no pledge)."""
    kinds = loan_primary_kinds(session)
    loans = session.execute(select(Loan.id, Loan.principal).where(TOOK_EFFECT))
    return _grouped((kinds.get(loan_id, UNKNOWN), p) for loan_id, p in loans)
