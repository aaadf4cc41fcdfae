"""Pure rules over a policy version (no database): the rate cap, the premium subsidy, risk compensation and the
split of a principal loss. The 2015 Chongqing measures (shared/reference, section (3) 建立风险补偿机制):

- risk compensation: ≤ 30 % of the bad-debt PRINCIPAL loss, at most ¥1,500,000 per loan, only when the actual rate is
  ≤ 150 % of the benchmark rate of the same period (alternative mode: LPR + basis points);
- guarantee or insurance premium subsidy ≤ 1 % of the loan amount. Decision: the 1 % cap is per loan, across the
  guarantee premium and the insurance premium together (the measures say "不超过每笔贷款金额 1%的担保费或保险费补助":
  one cap per loan). The subsidy is split between guarantor and insurer in proportion to their premiums;
- the enterprise's share of risk is kept within 10 %.

Money: Decimal quantized to 0.01 ROUND_HALF_UP. Rates: Decimal fractions (0.0435). No float anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from market.errors import InvalidInput
from market.policy.models import RateCapMode

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RATIO_PLACES = Decimal("0.0001")


def money(value) -> Decimal:
    """Exact money: Decimal quantized to 0.01 with ROUND_HALF_UP (strings and ints accepted, floats refused)."""
    if isinstance(value, float):
        raise TypeError("money must not travel through float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def as_decimal(value, name: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{name} must not travel through float")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput("%(name)s is not a number.", name=name) from exc
    if not result.is_finite():
        raise InvalidInput("%(name)s is not a number.", name=name)
    return result


@dataclass(frozen=True)
class Reason:
    """Why a loan is not eligible: a translatable English msgid with its parameters."""

    code: str
    message: str
    params: dict = field(default_factory=dict)

    def localized(self) -> str:
        try:
            from flask_babel import gettext

            return gettext(self.message, **self.params)
        except (RuntimeError, KeyError):  # outside an app context
            return self.message % self.params if self.params else self.message


def pct(value: Decimal, digits: int = 4) -> str:
    """A fraction as a percentage string: 0.06525 → '6.525%' (trailing zeros dropped)."""
    text = f"{(value * 100).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def rate_cap(policy, benchmark_rate: Decimal) -> Decimal:
    """The highest actual annual rate that keeps a loan within the policy (exact, not rounded)."""
    if policy.rate_cap_mode == RateCapMode.LPR_SPREAD:
        return benchmark_rate + Decimal(policy.rate_cap_spread_bp or 0) / Decimal(10000)
    return benchmark_rate * Decimal(policy.rate_cap_ratio)


def rate_reasons(policy, annual_rate: Decimal, benchmark_rate: Decimal) -> list[Reason]:
    cap = rate_cap(policy, benchmark_rate)
    if annual_rate <= cap:
        return []
    if policy.rate_cap_mode == RateCapMode.LPR_SPREAD:
        return [Reason("rate_above_cap",
                       "The actual rate %(rate)s is above the cap of LPR + %(bp)s basis points (%(cap)s): "
                       "the loan gets no risk compensation.",
                       {"rate": pct(annual_rate), "bp": policy.rate_cap_spread_bp or 0, "cap": pct(cap)})]
    return [Reason("rate_above_cap",
                   "The actual rate %(rate)s is above %(ratio)s of the benchmark rate (%(cap)s): "
                   "the loan gets no risk compensation.",
                   {"rate": pct(annual_rate), "ratio": pct(Decimal(policy.rate_cap_ratio), 0), "cap": pct(cap)})]


def kind_eligible(policy, kind: str) -> bool:
    return str(kind) in set(policy.eligible_kinds or [])


def premium_subsidy(policy, loan_amount: Decimal, guarantee_premium: Decimal = ZERO,
                    insurance_premium: Decimal = ZERO) -> tuple[Decimal, Decimal, Decimal]:
    """(total, to guarantor, to insurer): min(premiums, 1 % of the loan), ONE cap per loan across both premiums,
    split in proportion to the premiums (the insurer's part takes the rounding remainder)."""
    premiums = money(guarantee_premium) + money(insurance_premium)
    cap = money(loan_amount * Decimal(policy.premium_subsidy_rate))
    total = min(premiums, cap)
    if premiums == 0:
        return ZERO, ZERO, ZERO
    to_guarantor = money(total * money(guarantee_premium) / premiums)
    return total, to_guarantor, total - to_guarantor


def compensation(policy, bank_principal_loss: Decimal, rate_ok: bool) -> Decimal:
    """min(30 % × principal loss, ¥1,500,000) when the rate was within the cap, else 0."""
    if not rate_ok or bank_principal_loss <= 0:
        return ZERO
    return min(money(bank_principal_loss * Decimal(policy.compensation_rate)), money(policy.compensation_cap))


@dataclass
class LossSplit:
    """Who carries a principal loss. The shares (`as_dict` without `loss`) sum to the loss."""

    loss: Decimal
    guarantor: Decimal  # what the guarantor carries in the end (its payment less the counter-guarantee)
    insurer: Decimal
    bank_loss: Decimal  # the bank's principal loss after collateral, guarantor and insurer: the base of compensation
    government: Decimal
    enterprise: Decimal
    bank: Decimal
    collateral: Decimal = ZERO  # covered by tangible collateral (Tianjin's combined pledge)
    counter_guarantor: Decimal = ZERO  # repaid to the guarantor by the counter-guarantor (Shanghai)

    @property
    def guarantor_pays(self) -> Decimal:
        """What the guarantor pays the bank (before the counter-guarantor repays it its share)."""
        return self.guarantor + self.counter_guarantor

    def as_dict(self) -> dict[str, Decimal]:
        return {"loss": self.loss, "government": self.government, "guarantor": self.guarantor,
                "counter_guarantor": self.counter_guarantor, "insurer": self.insurer, "collateral": self.collateral,
                "bank": self.bank, "enterprise": self.enterprise}


def split_loss(policy, loss: Decimal, rate_ok: bool, guarantee_coverage: Decimal = ZERO,
               insurance_coverage: Decimal = ZERO, enterprise_coverage: Decimal = ZERO, *,
               collateral: Decimal = ZERO, counter_guarantee_share: Decimal = ZERO) -> LossSplit:
    """Who carries a principal loss, step by step: the tangible collateral (Tianjin) covers `collateral` of it first;
    of what remains, the guarantor and the insurer carry their coverage fractions, the enterprise its own coverage
    fraction (joint liability; 0 by default); the counter-guarantor (Shanghai) repays the guarantor
    `counter_guarantee_share` of its payment; the government compensates the bank's remaining loss
    (`compensation`; nothing when `rate_ok` is false, i.e. not eligible), and the bank carries the rest."""
    loss = money(loss)
    collateral = min(money(collateral), loss)
    rest = loss - collateral
    guarantor = money(rest * guarantee_coverage)
    insurer = money(rest * insurance_coverage)
    enterprise = money(rest * enterprise_coverage)
    counter = money(guarantor * counter_guarantee_share)
    bank_loss = max(rest - guarantor - insurer - enterprise, ZERO)
    government = compensation(policy, bank_loss, rate_ok)
    return LossSplit(loss=loss, guarantor=guarantor - counter, insurer=insurer, bank_loss=bank_loss,
                     government=government, enterprise=enterprise, bank=bank_loss - government,
                     collateral=collateral, counter_guarantor=counter)


# ------------------------------------------------------------------------------------------------ fund spending


def spending_rank(policy, category: str) -> int:
    """Where a category of spending stands in the policy's order (0 first); unknown categories come last."""
    order = list(policy.spending_order or [])
    return order.index(category) if category in order else len(order)


def intermediary_reward(policy, principal: Decimal) -> Decimal:
    """The reward to one intermediary (guarantor, insurer) that served a policy-supported loan:
    the policy's share of the principal, at most its cap per intermediary and loan."""
    return min(money(Decimal(principal) * Decimal(policy.intermediary_reward_rate)),
               money(policy.intermediary_reward_cap))


def interest_subsidy(policy, interest_paid: Decimal, already_granted: Decimal = ZERO) -> Decimal:
    """What the enterprise is still owed in interest subsidy: the policy's share of the interest it actually paid, at
    most the cap per loan, less what was granted before (never negative)."""
    total = min(money(Decimal(interest_paid) * Decimal(policy.interest_subsidy_rate)),
                money(policy.interest_subsidy_cap))
    return max(total - money(already_granted), ZERO)
