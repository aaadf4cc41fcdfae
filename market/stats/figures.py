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
# A loan counts once it took effect: one waiting for the enterprise's confirmation (pending) or refused by it
# (declined) lent nothing and pledged nothing, so no figure, table or chart counts it.
TOOK_EFFECT = Loan.status.not_in([LoanStatus.PENDING, LoanStatus.DECLINED])

UNKNOWN = "—"


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


def money(value) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(CENT)


# ------------------------------------------------------------------------------------------------ headline figures

def verified_banks(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.kind == OrgKind.BANK, Organisation.status == OrgStatus.VERIFIED)) or 0


def banks_with_loans(session: Session) -> int:
    return session.scalar(select(func.count(distinct(Loan.bank_org_id))).where(TOOK_EFFECT)) or 0


def loan_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Loan).where(TOOK_EFFECT)) or 0


def loan_principal(session: Session) -> Decimal:
    return sum((money(p) for p in session.scalars(select(Loan.principal).where(TOOK_EFFECT))), ZERO)


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


def fund_spent(session: Session, account: LedgerAccount) -> Decimal:
    """What the fund paid into one spending account of its ledger (debit positive)."""
    lines = session.scalars(select(LedgerLine.amount).where(LedgerLine.account == account))
    return sum((money(a) for a in lines), ZERO)


def compensation_paid(session: Session) -> Decimal:
    """Compensation paid to banks, from the fund ledger (the compensation_paid account)."""
    return fund_spent(session, LedgerAccount.COMPENSATION_PAID)


def claims_paid(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CompensationClaim).where(
        CompensationClaim.status == CompensationStatus.PAID)) or 0


def fund_balance(session: Session) -> Decimal | None:
    """The compensation fund's balance; None while the fund has not been opened (no row yet). Read only."""
    balances = list(session.scalars(select(Fund.balance)))
    if not balances:
        return None
    return sum((money(b) for b in balances), ZERO)


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
    for signed_on, principal in session.execute(select(Loan.signed_on, Loan.principal).where(TOOK_EFFECT)):
        key = f"{signed_on.year:04d}-{signed_on.month:02d}"
        counts[key] += 1
        sums[key] += money(principal)
    return [Row(k, counts[k], sums[k]) for k in sorted(counts)]


def loans_by_bank(session: Session) -> list[Row]:
    """Loans per lending bank, largest principal first (then by name)."""
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    query = (select(Organisation.name, Loan.principal).join(Organisation, Organisation.id == Loan.bank_org_id)
             .where(TOOK_EFFECT))
    for name, principal in session.execute(query):
        counts[name] += 1
        sums[name] += money(principal)
    return sorted((Row(k, counts[k], sums[k]) for k in counts), key=lambda r: (-r.principal, r.key))


def headline(session: Session) -> dict:
    rec = recoveries(session)
    return {
        "recovery_rate": recovery_rate(session, rec),
        "disposals_settled": sum(r.lots_settled for r in rec),
        "recovered": sum((r.proceeds for r in rec), ZERO),
        "median_need_to_loan_days": median_need_to_loan_days(session),
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
        "intermediary_rewards_paid": fund_spent(session, LedgerAccount.REWARDS_PAID),
        "interest_subsidies_paid": fund_spent(session, LedgerAccount.INTEREST_SUBSIDIES_PAID),
    }


# ------------------------------------------------------------------------------------------------ staff figures

def need_to_loan_days(session: Session) -> list[int]:
    """Days from a need's publication (or submission, or creation) to the signing of the loan made from its offer."""
    from market.needs.models import Offer

    query = (select(Need.published_at, Need.submitted_at, Need.created_at, Loan.signed_on)
             .join(Offer, Offer.id == Loan.offer_id).join(Need, Need.id == Offer.need_id).where(TOOK_EFFECT))
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


# ------------------------------------------------------------------------------------------------ recovery

@dataclass(frozen=True)
class Recovery:
    loan_id: int
    bank: str
    enterprise: str
    defaulted_on: object
    outstanding: Decimal  # principal outstanding at default
    proceeds: Decimal  # sale prices of the loan's settled disposal lots (or the claim's recorded recovery)
    lots_settled: int
    source: str | None = None  # "exchange" (settled lots), "claim" (the claim's recovery), None (nothing yet)

    @property
    def rate(self) -> Decimal | None:
        return (self.proceeds / self.outstanding).quantize(Decimal("0.0001")) if self.outstanding > 0 else None


def _defaulted_query():
    return select(Loan).where(Loan.status.in_(DEFAULTED_STATUSES) | Loan.defaulted_on.is_not(None))


def outstanding_at_default(loan: Loan) -> Decimal:
    """Principal less the principal repaid on or before the default date (all repayments when no date)."""
    repaid = sum((money(r.principal) for r in loan.repayments
                  if loan.defaulted_on is None or r.paid_on <= loan.defaulted_on), ZERO)
    return money(loan.principal) - repaid


def disposal_proceeds(session: Session) -> dict[int, tuple[Decimal, int]]:
    """Per loan: the sum of the sale prices of its settled exchange lots and their number (empty without the
    exchange area)."""
    try:
        from market.exchange.models import Listing, ListingStatus
    except ImportError:  # pragma: no cover - the exchange area is part of the product
        return {}
    out: dict[int, tuple[Decimal, int]] = {}
    query = select(Listing.loan_id, Listing.sale_price).where(
        Listing.loan_id.is_not(None), Listing.status == ListingStatus.SETTLED, Listing.sale_price.is_not(None))
    for loan_id, price in session.execute(query):
        total, n = out.get(loan_id, (ZERO, 0))
        out[loan_id] = (total + money(price), n + 1)
    return out


def recoveries(session: Session) -> list[Recovery]:
    """Every defaulted loan with its outstanding principal at default and what was recovered, by loan id.

    The recovery is the sum of the sale prices of the loan's settled exchange lots; a loan with none whose
    compensation claim recorded a recovery (assembled outside the exchange) counts that recovery instead, with
    `lots_settled` 0 and `source` "claim"."""
    proceeds = disposal_proceeds(session)
    claimed = dict(session.execute(select(CompensationClaim.loan_id, CompensationClaim.recovery)).all())
    rows = []
    for loan in session.scalars(_defaulted_query().order_by(Loan.id)):
        total, n = proceeds.get(loan.id, (ZERO, 0))
        source = "exchange" if n else None
        if not n and loan.id in claimed:
            total, source = money(claimed[loan.id]), "claim"
        rows.append(Recovery(loan.id, loan.bank.name, loan.enterprise.name, loan.defaulted_on,
                             outstanding_at_default(loan), total, n, source))
    return rows


def recovery_rate(session: Session, rows: list[Recovery] | None = None) -> Decimal | None:
    """Recovered / outstanding principal at default, over the defaulted loans whose recovery is known (settled
    exchange lots, else the recovery recorded on the compensation claim); None when none is known yet."""
    rows = recoveries(session) if rows is None else rows
    done = [r for r in rows if r.source]
    outstanding = sum((r.outstanding for r in done), ZERO)
    if outstanding <= 0:
        return None
    return (sum((r.proceeds for r in done), ZERO) / outstanding).quantize(Decimal("0.0001"))


# ------------------------------------------------------------------------------------------------ compensation

@dataclass(frozen=True)
class Compensation:
    claim_id: int
    loan_id: int
    bank: str
    enterprise: str
    principal: Decimal
    outstanding: Decimal
    recovery: Decimal
    loss: Decimal
    compensation: Decimal
    paid_on: object


def compensation_by_loan(session: Session) -> list[Compensation]:
    """Every paid compensation claim, one per loan, oldest payment first."""
    query = (select(CompensationClaim).where(CompensationClaim.status == CompensationStatus.PAID)
             .order_by(CompensationClaim.paid_at, CompensationClaim.id))
    return [Compensation(c.id, c.loan_id, c.loan.bank.name, c.loan.enterprise.name, money(c.loan.principal),
                         money(c.outstanding_principal), money(c.recovery), money(c.loss),
                         money(c.compensation), c.paid_at.date() if c.paid_at else None)
            for c in session.scalars(query)]


ORG_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "合伙企业", "研究院", "研究所", "公司", "厂")
SECTOR_WORDS = ("科技", "技术", "电子", "信息", "软件", "智能", "医药", "生物", "制药", "汽车", "机械", "材料",
                "新材料", "能源", "化工", "环保", "装备", "制造", "网络", "数据", "光电", "通信")


def mask_name(name: str) -> str:
    """Anonymise an enterprise name for the open pages: keep the place (first two characters) and the sector word
    and legal form at the end, mask the rest: 重庆星辰科技有限公司 -> 重庆**科技有限公司."""
    name = (name or "").strip()
    if len(name) <= 2:
        return "**"
    rest = name[2:]
    suffix = next((s for s in ORG_SUFFIXES if rest.endswith(s)), "")
    body = rest[: len(rest) - len(suffix)]
    sector = next((w for w in sorted(SECTOR_WORDS, key=len, reverse=True) if body.endswith(w) and len(body) > len(w)),
                  "")
    if not body or (not sector and not suffix and len(body) < 2):
        return name[:1] + "**" + (name[-1:] if len(name) > 3 else "")
    return name[:2] + "**" + sector + suffix


# ------------------------------------------------------------------------------------------------ valuers

@dataclass(frozen=True)
class Accuracy:
    agency: str
    valuer: str
    n: int
    mean_abs_error: Decimal  # fraction


def valuer_accuracy_source() -> str:
    """"valuations" when market.valuations.service.valuer_accuracy exists, else "listings"."""
    try:
        from market.valuations.service import valuer_accuracy  # noqa: F401
    except ImportError:
        return "listings"
    return "valuations"


def valuer_accuracy(session: Session) -> list[Accuracy]:
    """Each valuer's accuracy: mean |valuation − disposal price| / price over the lots the exchange sold.

    Uses `market.valuations.service.valuer_accuracy` (valuation reports with their agency and signer) when that area
    exists; otherwise falls back to the valuation written on the sold listing itself, whose valuer is not recorded,
    grouped under the selling bank."""
    if valuer_accuracy_source() == "valuations":
        from market.valuations.service import valuer_accuracy as from_reports

        return [Accuracy(r.agency, r.valuer, r.n, Decimal(r.mean_abs_error)) for r in from_reports(session)]
    from market.exchange.models import Listing, ListingStatus

    errors: dict[str, list[Decimal]] = defaultdict(list)
    query = (select(Organisation.name, Listing.valuation, Listing.sale_price)
             .join(Organisation, Organisation.id == Listing.seller_org_id, isouter=True)
             .where(Listing.status.in_((ListingStatus.SOLD, ListingStatus.SETTLED)), Listing.sale_price > 0))
    for seller, valuation, price in session.execute(query):
        errors[seller or UNKNOWN].append(abs(money(valuation) - money(price)) / money(price))
    rows = [Accuracy(k, UNKNOWN, len(v), (sum(v, Decimal(0)) / len(v)).quantize(Decimal("0.0001")))
            for k, v in errors.items()]
    return sorted(rows, key=lambda r: (r.mean_abs_error, -r.n, r.agency))


def mean_need_to_loan_days(session: Session) -> Decimal | None:
    days = need_to_loan_days(session)
    if not days:
        return None
    return (Decimal(sum(days)) / len(days)).quantize(Decimal("0.1"))
