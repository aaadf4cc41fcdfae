"""The financing-plan calculator: a plan's terms judged against one policy version (pure: no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from market.errors import DomainError, InvalidInput
from market.policy.regional import LoanModel, ModelTerms, as_model, check_terms, collateral_cover, model_reasons
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
    loan_model: LoanModel = LoanModel.CHONGQING
    effects: list[Reason] = field(default_factory=list)  # what the model changes, in words
    models: list[ModelRow] = field(default_factory=list)  # the same plan under each model (`compare=True`)


@dataclass
class ModelRow:
    """The plan under one model: its result, or why the model cannot take these terms."""

    loan_model: LoanModel
    result: PlanResult | None
    refusal: str | None  # an English msgid (localized by `refusal_text`)
    refusal_params: dict = field(default_factory=dict)

    def refusal_text(self) -> str | None:
        """Why the model does not fit, in the reader's language (formatted only with parameters, so a message's
        "%" stays a percent sign)."""
        return DomainError(self.refusal, **self.refusal_params).localized() if self.refusal else None


def _fraction(value, name: str) -> Decimal:
    result = as_decimal(value, name)
    if result < 0 or result > 1:
        raise InvalidInput("%(name)s must be a fraction between 0 and 1.", name=name)
    return result


def evaluate_plan(policy, loan_amount, annual_rate, benchmark_rate, term_months, guarantee_coverage=0,
                  guarantee_premium=0, insurance_coverage=0, insurance_premium=0, enterprise_coverage=0, *,
                  loan_model=LoanModel.CHONGQING, counter_guarantee_share=0, counter_by_enterprise=False,
                  recommended_on: date | None = None, collateral_value=0, signed_on: date | None = None,
                  compare: bool = False) -> PlanResult:
    """Evaluate a financing plan against `policy`, under one of the regions' loan models (`market.policy.regional`).

    `eligible` means eligible for risk compensation (the rate cap, and the model's own rule: Jiangsu's
    recommendation, judged against `signed_on`); `reasons` say why not. The premium subsidy does
    not depend on the rate cap. The shares are those of a total loss of the principal. The enterprise's share of
    risk is its own coverage of the loss plus the premiums it pays net of the subsidy, as a fraction of the loan;
    `enterprise_within_ceiling` compares it with the policy's ceiling (10 %); exceeding it is a warning, not a reason.
    A counter-guarantee the enterprise gives itself (Shanghai) counts in its share; tangible collateral (Tianjin) is
    a pledge like the IP and does not. `compare=True` also evaluates the plan under every model (`models`).
    """
    if compare:  # each model's terms go to that model only (the others' are for `models`)
        model = as_model(loan_model)
        result = evaluate_plan(policy, loan_amount, annual_rate, benchmark_rate, term_months, guarantee_coverage,
                               guarantee_premium, insurance_coverage, insurance_premium, enterprise_coverage,
                               loan_model=model, signed_on=signed_on,
                               **_extras(counter_guarantee_share, counter_by_enterprise, recommended_on,
                                         collateral_value, signed_on)[model])
        result.models = compare_models(policy, loan_amount, annual_rate, benchmark_rate, term_months,
                                       guarantee_coverage, guarantee_premium, insurance_coverage, insurance_premium,
                                       enterprise_coverage, counter_guarantee_share=counter_guarantee_share,
                                       counter_by_enterprise=counter_by_enterprise, recommended_on=recommended_on,
                                       collateral_value=collateral_value, signed_on=signed_on)
        return result
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
    terms = ModelTerms(model=as_model(loan_model),
                       counter_guarantee_share=_fraction(counter_guarantee_share, "counter_guarantee_share"),
                       counter_by_enterprise=bool(counter_by_enterprise), recommended_on=recommended_on,
                       collateral_value=as_decimal(collateral_value, "collateral_value"))
    if terms.collateral_value < 0:
        raise InvalidInput("The tangible collateral's valuation must not be negative.")
    check_terms(terms, gc, gp, has_recommendation=terms.model is LoanModel.JIANGSU)

    reasons = rate_reasons(policy, annual_rate, benchmark_rate)
    reasons += model_reasons(policy, terms, signed_on or recommended_on or date.min)
    rate_ok = not reasons
    subsidy, sub_g, sub_i = premium_subsidy(policy, loan_amount, gp, ip)
    split = split_loss(policy, loan_amount, rate_ok, gc, ic, ec, collateral=collateral_cover(terms, loan_amount),
                       counter_guarantee_share=terms.counter_guarantee_share)
    enterprise_cost = split.enterprise + (gp + ip - subsidy)
    if terms.counter_by_enterprise:
        enterprise_cost += split.counter_guarantor
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
        policy_code=getattr(policy, "code", "") or "", loan_model=terms.model, effects=model_effects(terms, split),
    )


def _yuan(amount: Decimal) -> str:
    return f"¥{money(amount):,}"


def model_effects(terms: ModelTerms, split) -> list[Reason]:
    """What the model changes in a total loss, in words (the calculator shows them)."""
    if terms.model is LoanModel.SHANGHAI:
        params = {"share": pct(terms.counter_guarantee_share, 2), "amount": _yuan(split.counter_guarantor),
                  "kept": _yuan(split.guarantor)}
        if terms.counter_by_enterprise:
            return [Reason("counter_guarantee", "Counter-guarantee: the enterprise itself repays the guarantor "
                           "%(share)s of what it pays (%(amount)s, counted in the enterprise's share of risk); the "
                           "guarantor keeps %(kept)s. The bank's loss and the compensation are those of the "
                           "guarantee.", params)]
        return [Reason("counter_guarantee", "Counter-guarantee: a third party repays the guarantor %(share)s of what "
                       "it pays (%(amount)s); the guarantor keeps %(kept)s. The bank's loss and the compensation are "
                       "those of the guarantee.", params)]
    if terms.model is LoanModel.JIANGSU:
        return [Reason("relationship", "Relationship lending: no guarantee; the government's recommendation takes "
                       "its place, and the fund compensates the bank's whole principal loss when the recommendation "
                       "is valid (%(amount)s here).", {"amount": _yuan(split.government)})]
    if terms.model is LoanModel.TIANJIN:
        return [Reason("combined_pledge", "Combined pledge: the tangible collateral covers %(amount)s of the loss "
                       "first; the others share the remaining %(rest)s.",
                       {"amount": _yuan(split.collateral), "rest": _yuan(split.loss - split.collateral)})]
    return [Reason("multi_party", "Multi-party pledge: the guarantor and the insurer carry their coverage, the fund "
                   "compensates the bank's remaining loss.", {})]


def _extras(counter_guarantee_share, counter_by_enterprise, recommended_on, collateral_value, signed_on
            ) -> dict[LoanModel, dict]:
    """The terms each model takes from a plan's inputs (Jiangsu: recommended on the signing day by default)."""
    return {
        LoanModel.CHONGQING: {},
        LoanModel.SHANGHAI: {"counter_guarantee_share": counter_guarantee_share,
                             "counter_by_enterprise": counter_by_enterprise},
        LoanModel.JIANGSU: {"recommended_on": recommended_on or signed_on},
        LoanModel.TIANJIN: {"collateral_value": collateral_value},
    }


def compare_models(policy, loan_amount, annual_rate, benchmark_rate, term_months, guarantee_coverage=0,
                   guarantee_premium=0, insurance_coverage=0, insurance_premium=0, enterprise_coverage=0, *,
                   counter_guarantee_share=0, counter_by_enterprise=False, recommended_on=None, collateral_value=0,
                   signed_on=None) -> list[ModelRow]:
    """The same plan under each model, with each model's own terms taken from the inputs: Chongqing without the
    extras, Shanghai with the counter-guarantee, Jiangsu without the guarantee (recommended on the signing day when
    no day is given), Tianjin with the tangible collateral. A model the inputs do not fit says why."""
    base = dict(loan_amount=loan_amount, annual_rate=annual_rate, benchmark_rate=benchmark_rate,
                term_months=term_months, guarantee_coverage=guarantee_coverage, guarantee_premium=guarantee_premium,
                insurance_coverage=insurance_coverage, insurance_premium=insurance_premium,
                enterprise_coverage=enterprise_coverage, signed_on=signed_on)
    extras = _extras(counter_guarantee_share, counter_by_enterprise, recommended_on, collateral_value, signed_on)
    extras[LoanModel.JIANGSU].update(guarantee_coverage=0, guarantee_premium=0)  # it takes no guarantee
    rows = []
    for model, extra in extras.items():
        try:
            rows.append(ModelRow(model, evaluate_plan(policy, **{**base, **extra}, loan_model=model), None))
        except InvalidInput as exc:
            rows.append(ModelRow(model, None, exc.message, dict(exc.params)))
    return rows
