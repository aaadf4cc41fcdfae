"""Matching needs with loan products: a pure, explained score (no database access, no clock).

Each criterion gives points when it fits and a reason either way, so a bank or an enterprise sees why a pair
ranks where it does. Weights sum to 100."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


def _(msgid: str) -> str:
    """Marks a msgid for extraction; the reason is translated when it is shown (see labels.reason_text)."""
    return msgid


WEIGHTS = {"amount": 25, "term": 15, "rate": 20, "ip_kinds": 20, "industry": 10, "preferred_bank": 10}


@dataclass(frozen=True)
class Reason:
    criterion: str
    fits: bool
    points: int
    message: str  # English msgid, translated when shown
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    need_id: int
    product_id: int
    bank_org_id: int
    score: int
    reasons: tuple[Reason, ...]

    @property
    def fits(self) -> list[Reason]:
        return [r for r in self.reasons if r.fits]

    @property
    def misses(self) -> list[Reason]:
        return [r for r in self.reasons if not r.fits]


def _industry_fits(need, product) -> tuple[bool, str]:
    if not product.target_industries and not product.target_groups:
        return True, _("The product lends to every industry.")
    code = need.industry_code or ""
    if any(code.startswith(prefix) for prefix in product.target_industries):
        return True, _("The enterprise's industry is one the product targets.")
    if set(need.group_codes or []) & set(product.target_groups):
        return True, _("The enterprise's Chongqing industry group is one the product targets.")
    return False, _("The product targets other industries.")


def score(need, product) -> Match:
    """How well `product` fits `need`, 0–100, with one reason per criterion."""
    reasons: list[Reason] = []

    def add(criterion: str, fits: bool, message: str, partial: Decimal | None = None, **params) -> None:
        weight = WEIGHTS[criterion]
        points = weight if fits else 0
        if partial is not None:
            points = int((Decimal(weight) * partial).to_integral_value())
        reasons.append(Reason(criterion, fits, points, message, params))

    amount = Decimal(need.amount)
    add("amount", product.min_amount <= amount <= product.max_amount,
        _("The amount %(amount)s is within the product's range %(low)s–%(high)s.")
        if product.min_amount <= amount <= product.max_amount
        else _("The amount %(amount)s is outside the product's range %(low)s–%(high)s."),
        amount=amount, low=product.min_amount, high=product.max_amount)
    term_ok = product.min_term_months <= need.term_months <= product.max_term_months
    add("term", term_ok,
        _("The term of %(term)s months is within %(low)s–%(high)s months.") if term_ok
        else _("The term of %(term)s months is outside %(low)s–%(high)s months."),
        term=need.term_months, low=product.min_term_months, high=product.max_term_months)
    rate_ok = product.min_rate <= need.max_rate
    add("rate", rate_ok,
        _("The product's lowest rate %(low)s is within the enterprise's ceiling %(ceiling)s.") if rate_ok
        else _("The product's lowest rate %(low)s is above the enterprise's ceiling %(ceiling)s."),
        low=product.min_rate, ceiling=need.max_rate)
    kinds = set(need.ip_kinds or [])
    accepted = kinds & set(product.accepted_kinds or [])
    if kinds and accepted == kinds:
        add("ip_kinds", True, _("The product accepts every kind of IP offered."))
    elif accepted:
        add("ip_kinds", False, _("The product accepts only some of the IP kinds offered (%(kinds)s)."),
            partial=Decimal(len(accepted)) / Decimal(len(kinds)), kinds=", ".join(sorted(accepted)))
    else:
        add("ip_kinds", False, _("The product accepts none of the IP kinds offered."))
    industry_ok, message = _industry_fits(need, product)
    add("industry", industry_ok, message)
    preferred = list(getattr(need, "preferred_bank_ids", []) or [])
    if not preferred:
        add("preferred_bank", True, _("The enterprise has no preferred bank."), partial=Decimal("0.5"))
    elif product.bank_org_id in preferred:
        add("preferred_bank", True, _("The enterprise prefers this bank."))
    else:
        add("preferred_bank", False, _("The enterprise prefers other banks."))
    total = sum(r.points for r in reasons)
    return Match(need.id, product.id, product.bank_org_id, total, tuple(reasons))


# What makes a need a match for a bank (its to-do list): one of its active products could lend it as posted, i.e.
# every criterion fits except the enterprise's preferred bank (a preference, not a condition of the product).
REQUIRED = ("amount", "term", "rate", "ip_kinds", "industry")


def lends_to(need, product) -> bool:
    """Whether `product` could lend to `need` as posted: its amount, term, rate, every IP kind offered and the
    enterprise's industry fit (see REQUIRED)."""
    return all(r.fits for r in score(need, product).reasons if r.criterion in REQUIRED)


def rank_products(need, products) -> list[Match]:
    """Products for one need, best first (ties: lower minimum rate, then id)."""
    matches = [(score(need, p), p) for p in products]
    matches.sort(key=lambda mp: (-mp[0].score, mp[1].min_rate, mp[1].id))
    return [m for m, _p in matches]


def rank_needs(needs, products) -> list[Match]:
    """Needs for one bank, each with its best product of that bank, best first (ties: older need first)."""
    best: list[Match] = []
    for need in needs:
        ranked = rank_products(need, products)
        if ranked:
            best.append(ranked[0])
    best.sort(key=lambda m: (-m.score, m.need_id))
    return best
