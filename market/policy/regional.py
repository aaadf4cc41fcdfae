"""The other regions' loan models, as options on a loan (pure rules, no database).

The reference paper (shared/reference, "在分散和降低融资风险措施方面，各省市也采取了不同的做法"):

- Chongqing (the default): "政府+银行+知识产权评估机构+融资担保机构+贷款保证保险机构"的"多方联合质押贷款" — the IP
  pledge with a guarantor and an insurer sharing the loss, the fund compensating the bank's part.
- Shanghai: "上海采取'担保与反担保共存'的方式来降低风险" (and "政府出资分担风险型，以上海浦东…为代表。引入政策性
  担保机构，政府出资担保并承担大部分风险损失"): a guarantor covers a share of the loss and a counter-guarantor
  (the enterprise itself or a third party, with a stated security) reimburses the guarantor a share of what it paid.
  The bank's loss, and so the fund's compensation, are those of the guarantee; the counter-guarantee moves part of
  the guarantor's burden to the counter-guarantor.
- Jiangsu: "江苏则采取'关系型贷款'方式，由政府推荐优质的、信用等级高的、经济效益好的企业给银行办理知识产权质押
  贷款业务，无需担保": no guarantee; the government's recommendation stands in its place. Decision: the fund
  compensates such a loan only when the recommendation was made on or before the signing day and no more than the
  policy's `recommendation_valid_days` before it (a recommendation is what made the bank lend without a guarantee;
  one made afterwards, or long before, is not). The compensation base is then the bank's whole principal loss.
- Tianjin: "天津采取'组合抵押'的方式，通过将知识产权与实物混合打包作为抵押物来有效降低担保方或贷款银行的风险":
  IP bundled with tangible assets, each valued. Decision: the tangible collateral covers the loss first, at the
  valuation recorded on the loan (a lower realised value is the bank's risk, as the haircut it chose in valuing
  it); the guarantor, the insurer, the fund and the bank share what remains.

Money: Decimal quantized to 0.01; shares are Decimal fractions. No float anywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from market.errors import InvalidInput
from market.policy.rules import ZERO, Reason, money

MAX_COLLATERAL_ITEMS = 20
MAX_RECOMMENDATION_DAYS = 3650  # the policy's `recommendation_valid_days` lies within 0 … 10 years


class LoanModel(enum.StrEnum):
    CHONGQING = "chongqing"  # 多方联合质押贷款 (default)
    SHANGHAI = "shanghai"  # 担保与反担保共存
    JIANGSU = "jiangsu"  # 关系型贷款: 政府推荐, 无需担保
    TIANJIN = "tianjin"  # 组合抵押: 知识产权与实物混合打包


class CollateralKind(enum.StrEnum):
    """Kinds of tangible collateral bundled with the IP in Tianjin's combined pledge."""

    REAL_ESTATE = "real_estate"
    EQUIPMENT = "equipment"
    VEHICLE = "vehicle"
    INVENTORY = "inventory"
    OTHER = "other"


@dataclass(frozen=True)
class ModelTerms:
    """A loan's (or a plan's) model and the terms that model adds."""

    model: LoanModel = LoanModel.CHONGQING
    counter_guarantee_share: Decimal = ZERO  # Shanghai: share of the guarantor's payment the counter-guarantor repays
    counter_by_enterprise: bool = False  # Shanghai: the enterprise itself counter-guarantees
    recommended_on: date | None = None  # Jiangsu: the day the government recommended the enterprise
    collateral_value: Decimal = ZERO  # Tianjin: the tangible collateral's total valuation


def as_model(value) -> LoanModel:
    try:
        return LoanModel(getattr(value, "value", value) or LoanModel.CHONGQING)
    except ValueError as exc:
        raise InvalidInput("Unknown loan model: choose Chongqing, Shanghai, Jiangsu or Tianjin.") from exc


def check_terms(terms: ModelTerms, guarantee_coverage: Decimal, guarantee_premium: Decimal,
                has_counter_guarantor: bool = False, has_recommendation: bool = False,
                collateral_items: int = 0) -> None:
    """Refuse terms the model does not allow (InvalidInput with a translatable message); the one check of the plan
    calculator and of a loan recorded by a bank."""
    model = terms.model
    share = Decimal(terms.counter_guarantee_share or 0)
    if model is LoanModel.SHANGHAI:
        if Decimal(guarantee_coverage) <= 0:
            raise InvalidInput("Shanghai's model needs a guarantor covering a share of the loss.")
        if not ZERO < share <= 1:
            raise InvalidInput("Give the share of the guarantor's payment the counter-guarantor repays "
                               "(more than 0 %, at most 100 %).")
    elif share or has_counter_guarantor or terms.counter_by_enterprise:
        raise InvalidInput("Only Shanghai's model has a counter-guarantee.")
    if model is LoanModel.JIANGSU:
        if Decimal(guarantee_coverage) or Decimal(guarantee_premium):
            raise InvalidInput("Jiangsu's relationship lending takes no guarantee: leave the guarantor, its "
                               "coverage and premium empty.")
    elif has_recommendation or terms.recommended_on is not None:
        raise InvalidInput("Only Jiangsu's relationship lending records a government recommendation.")
    value = Decimal(terms.collateral_value or 0)
    if model is LoanModel.TIANJIN:
        if value <= 0:
            raise InvalidInput("Tianjin's combined pledge needs at least one tangible asset with its valuation.")
        if collateral_items > MAX_COLLATERAL_ITEMS:
            raise InvalidInput("At most %(max)s tangible assets per loan.", max=MAX_COLLATERAL_ITEMS)
    elif value or collateral_items:
        raise InvalidInput("Only Tianjin's combined pledge bundles tangible collateral with the IP.")


def model_reasons(policy, terms: ModelTerms, signed_on: date) -> list[Reason]:
    """Why the model makes a loan ineligible for risk compensation under `policy` (besides the rate cap)."""
    if terms.model is not LoanModel.JIANGSU:
        return []
    day = terms.recommended_on
    valid = int(policy.recommendation_valid_days)
    if day is None:
        return [Reason("not_recommended", "Relationship lending without a government recommendation gets no risk "
                       "compensation.")]
    if day > signed_on:
        return [Reason("recommended_after_signing",
                       "The government recommended the enterprise on %(day)s, after the loan was signed on "
                       "%(signed)s: the loan gets no risk compensation.",
                       {"day": day.isoformat(), "signed": signed_on.isoformat()})]
    if (signed_on - day).days > valid:
        return [Reason("recommendation_expired",
                       "The government recommendation of %(day)s was more than %(days)s days old when the loan was "
                       "signed on %(signed)s: the loan gets no risk compensation.",
                       {"day": day.isoformat(), "days": valid, "signed": signed_on.isoformat()})]
    return []


def collateral_cover(terms: ModelTerms, loss: Decimal) -> Decimal:
    """What the tangible collateral covers of a principal loss (Tianjin): its valuation, at most the loss."""
    if terms.model is not LoanModel.TIANJIN:
        return ZERO
    return min(money(terms.collateral_value), money(loss))
