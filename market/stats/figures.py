"""The dashboard's figures, computed live from the database.

Every function takes a session and returns exact values (int, Decimal, or rows of them), so tests can recompute
them independently. Money is summed in Python over Decimals (SQLite's SUM over NUMERIC is a float). Each query reads
only; an empty table simply gives zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, OrgKind, OrgStatus
from market.ip.models import PATENT_KINDS, VALID_STATUSES, IpAsset, IpKind
from market.loans.models import CompensationClaim, CompensationStatus, Fund, LedgerAccount, LedgerLine, Loan, LoanStatus
from market.needs.models import Need, NeedStatus

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

# Loans that went bad: still in default/disposal/written off, or closed after a default (defaulted_on is set).
DEFAULTED_STATUSES = (LoanStatus.DEFAULTED, LoanStatus.IN_DISPOSAL, LoanStatus.WRITTEN_OFF)


@dataclass(frozen=True)
class PaperFigures:
    """Chongqing, mid-2016, as reported by the reference paper (versioned here, not computed)."""

    institutions: str = "20+"
    institutions_min: int = 20
    loans: int = 176
    principal: Decimal = Decimal("2060000000.00")  # ¥2.06 billion = 20.6亿
    enterprises_with_needs: int = 898
    valid_patents: int = 40189
    valid_invention_patents: int = 4749
    as_of: str = "2016"


PAPER = PaperFigures()


def _money(value) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(CENT)


# ------------------------------------------------------------------------------------------------ headline figures

def verified_banks(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.kind == OrgKind.BANK, Organisation.status == OrgStatus.VERIFIED)) or 0


def banks_with_loans(session: Session) -> int:
    return session.scalar(select(func.count(distinct(Loan.bank_org_id)))) or 0


def loan_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Loan)) or 0


def loan_principal(session: Session) -> Decimal:
    return sum((_money(p) for p in session.scalars(select(Loan.principal))), ZERO)


def enterprises_with_needs(session: Session) -> int:
    """Distinct enterprises that posted a need beyond a draft."""
    return session.scalar(select(func.count(distinct(Need.org_id))).where(Need.status != NeedStatus.DRAFT)) or 0


def valid_patents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(IpAsset).where(
        IpAsset.kind.in_(list(PATENT_KINDS)), IpAsset.legal_status.in_(list(VALID_STATUSES)))) or 0


def valid_invention_patents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(IpAsset).where(
        IpAsset.kind == IpKind.INVENTION, IpAsset.legal_status.in_(list(VALID_STATUSES)))) or 0


def defaulted_loans(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Loan).where(
        Loan.status.in_(DEFAULTED_STATUSES) | Loan.defaulted_on.is_not(None))) or 0


def default_rate(session: Session) -> Decimal | None:
    """Defaulted loans / all loans, a fraction with 4 decimals; None when there is no loan."""
    total = loan_count(session)
    if not total:
        return None
    return (Decimal(defaulted_loans(session)) / Decimal(total)).quantize(Decimal("0.0001"))


def compensation_paid(session: Session) -> Decimal:
    """Compensation paid to banks, from the fund ledger (the compensation_paid account, debit positive)."""
    lines = session.scalars(select(LedgerLine.amount).where(LedgerLine.account == LedgerAccount.COMPENSATION_PAID))
    return sum((_money(a) for a in lines), ZERO)


def claims_paid(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CompensationClaim).where(
        CompensationClaim.status == CompensationStatus.PAID)) or 0


def fund_balance(session: Session) -> Decimal | None:
    """The compensation fund's balance; None while the fund has not been opened (no row yet). Read only."""
    balances = list(session.scalars(select(Fund.balance)))
    if not balances:
        return None
    return sum((_money(b) for b in balances), ZERO)


# ------------------------------------------------------------------------------------------------ tables

@dataclass(frozen=True)
class Row:
    key: str  # month "2026-11" or bank name
    loans: int
    principal: Decimal


def loans_by_month(session: Session) -> list[Row]:
    """Loans signed per calendar month, oldest first."""
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for signed_on, principal in session.execute(select(Loan.signed_on, Loan.principal)):
        key = f"{signed_on.year:04d}-{signed_on.month:02d}"
        counts[key] += 1
        sums[key] += _money(principal)
    return [Row(k, counts[k], sums[k]) for k in sorted(counts)]


def loans_by_bank(session: Session) -> list[Row]:
    """Loans per lending bank, largest principal first (then by name)."""
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    query = select(Organisation.name, Loan.principal).join(Organisation, Organisation.id == Loan.bank_org_id)
    for name, principal in session.execute(query):
        counts[name] += 1
        sums[name] += _money(principal)
    return sorted((Row(k, counts[k], sums[k]) for k in counts), key=lambda r: (-r.principal, r.key))


def headline(session: Session) -> dict:
    return {
        "verified_banks": verified_banks(session),
        "banks_with_loans": banks_with_loans(session),
        "loans": loan_count(session),
        "principal": loan_principal(session),
        "enterprises_with_needs": enterprises_with_needs(session),
        "valid_patents": valid_patents(session),
        "valid_invention_patents": valid_invention_patents(session),
        "defaulted_loans": defaulted_loans(session),
        "default_rate": default_rate(session),
        "compensation_paid": compensation_paid(session),
        "claims_paid": claims_paid(session),
        "fund_balance": fund_balance(session),
    }


# ------------------------------------------------------------------------------------------------ staff figures

def need_to_loan_days(session: Session) -> list[int]:
    """Days from a need's publication (or submission, or creation) to the signing of the loan made from its offer."""
    from market.needs.models import Offer

    query = (select(Need.published_at, Need.submitted_at, Need.created_at, Loan.signed_on)
             .join(Offer, Offer.id == Loan.offer_id).join(Need, Need.id == Offer.need_id))
    days = []
    for published, submitted, created, signed_on in session.execute(query):
        start = (published or submitted or created).date()
        days.append(max((signed_on - start).days, 0))
    return sorted(days)


def median_need_to_loan_days(session: Session) -> Decimal | None:
    days = need_to_loan_days(session)
    if not days:
        return None
    mid = len(days) // 2
    return Decimal(days[mid]) if len(days) % 2 else (Decimal(days[mid - 1] + days[mid]) / 2)
