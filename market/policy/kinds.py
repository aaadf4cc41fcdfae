"""The kinds of IP a policy can accept as a pledge object; the asset register (market/ip) records one per asset."""

from __future__ import annotations

import enum


class IpKind(enum.StrEnum):
    INVENTION = "invention"  # 发明专利
    UTILITY_MODEL = "utility_model"  # 实用新型
    DESIGN = "design"  # 外观设计
    IC_LAYOUT = "ic_layout"  # 集成电路布图设计
    TRADEMARK = "trademark"
    COPYRIGHT = "copyright"
    TRADE_SECRET = "trade_secret"
    LICENCE = "licence"  # patent/trademark/copyright licence


# Eligible pledge objects under the 2015 measures: the seed policy's kinds.
MEASURES_2015_KINDS = frozenset({IpKind.INVENTION, IpKind.UTILITY_MODEL, IpKind.DESIGN, IpKind.IC_LAYOUT})
