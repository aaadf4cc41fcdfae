"""The financing-plan calculator: a plan's terms judged against one policy version (pure: no database)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from market.errors import InvalidInput
from market.policy.rules import (
    RATIO_PLACES,
    Reason,
    as_decimal,
    money,
    pct,
    premium_subsidy,
    rate_cap,
    rate_reasons,
    split_loss,
)


@dataclass
class PlanResult:
    eligible: bool
    reasons: list[Reason]
    rate_cap: Decimal
    rate_ratio: Decimal
    premium_subsidy: Decimal
    premium_subsidy_guarantor: Decimal
    premium_subsidy_insurer: Decimal
    compensation_on_total_loss: Decimal
    shares: dict[str, Decimal]
    enterprise_cost: Decimal
    enterprise_share: Decimal
    enterprise_within_ceiling: bool
    warnings: list[Reason]
    policy_code: str = ""


def _fraction(value, name: str) -> Decimal:
    result = as_decimal(value, name)
    if result < 0 or result > 1:
        raise InvalidInput("%(name)s must be a fraction between 0 and 1.", name=name)
    return result


def evaluate_plan(policy, loan_amount, annual_rate, benchmark_rate, term_months, guarantee_coverage=0,
                  guarantee_premium=0, insurance_coverage=0, insurance_premium=0, enterprise_coverage=0) -> PlanResult:
    """Evaluate a financing plan against `policy`.

    `eligible` means eligible for risk compensation (the rate cap); `reasons` say why not. The premium subsidy does
    not depend on the rate cap. The shares are those of a total loss of the principal. The enterprise's share of
    risk is its own coverage of the loss plus the premiums it pays net of the subsidy, as a fraction of the loan;
    `enterprise_within_ceiling` compares it with the policy's ceiling (10 %); exceeding it is a warning, not a reason.
    """
    loan_amount = as_decimal(loan_amount, "loan_amount")
    annual_rate = as_decimal(annual_rate, "annual_rate")
    benchmark_rate = as_decimal(benchmark_rate, "benchmark_rate")
    if loan_amount <= 0:
        raise InvalidInput("The loan amount must be positive.")
    if loan_amount != money(loan_amount):
        raise InvalidInput("The loan amount must have at most two decimals.")
    if annual_rate <= 0 or annual_rate >= 1:
        raise InvalidInput("The annual rate must be a fraction between 0 and 1, e.g. 0.0435.")
    if benchmark_rate <= 0 or benchmark_rate >= 1:
        raise InvalidInput("The benchmark rate must be a fraction between 0 and 1, e.g. 0.0435.")
    try:
        term = int(term_months)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("The term must be a whole number of months between 1 and 360.") from exc
    if term != term_months or not 1 <= term <= 360:
        raise InvalidInput("The term must be a whole number of months between 1 and 360.")
    gc = _fraction(guarantee_coverage, "guarantee_coverage")
    ic = _fraction(insurance_coverage, "insurance_coverage")
    ec = _fraction(enterprise_coverage, "enterprise_coverage")
    if gc + ic + ec > 1:
        raise InvalidInput("The coverages together must not exceed the whole loan.")
    gp = as_decimal(guarantee_premium, "guarantee_premium")
    ip = as_decimal(insurance_premium, "insurance_premium")
    if gp < 0 or ip < 0:
        raise InvalidInput("Premiums must not be negative.")
    if gp > 0 and gc == 0:
        raise InvalidInput("A guarantee premium needs a guarantee coverage.")
    if ip > 0 and ic == 0:
        raise InvalidInput("An insurance premium needs an insurance coverage.")
    gp, ip = money(gp), money(ip)

    reasons = rate_reasons(policy, annual_rate, benchmark_rate)
    rate_ok = not reasons
    subsidy, sub_g, sub_i = premium_subsidy(policy, loan_amount, gp, ip)
    split = split_loss(policy, loan_amount, rate_ok, gc, ic, ec)
    enterprise_cost = split.enterprise + (gp + ip - subsidy)
    enterprise_share = (enterprise_cost / loan_amount).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
    within = enterprise_cost <= loan_amount * Decimal(policy.enterprise_risk_ceiling)
    warnings = []
    if not within:
        warnings.append(Reason("enterprise_above_ceiling",
                               "The enterprise would carry %(share)s of the risk, above the ceiling of %(ceiling)s.",
                               {"share": pct(enterprise_share, 2),
                                "ceiling": pct(Decimal(policy.enterprise_risk_ceiling), 2)}))
    shares = split.as_dict()
    shares.pop("loss")
    return PlanResult(
        eligible=rate_ok, reasons=reasons, rate_cap=rate_cap(policy, benchmark_rate),
        rate_ratio=(annual_rate / benchmark_rate).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP),
        premium_subsidy=subsidy, premium_subsidy_guarantor=sub_g, premium_subsidy_insurer=sub_i,
        compensation_on_total_loss=split.government, shares=shares, enterprise_cost=enterprise_cost,
        enterprise_share=enterprise_share, enterprise_within_ceiling=within, warnings=warnings,
        policy_code=getattr(policy, "code", "") or "",
    )
