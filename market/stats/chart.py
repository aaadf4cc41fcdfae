"""Geometry of a small server-rendered horizontal bar chart (the SVG itself is in templates/stats/_bar_chart.html).

No JavaScript: each bar carries its label on the left and its value as text on the right, so the chart reads
without scripts or colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LABEL_WIDTH = 170
BAR_WIDTH = 360
VALUE_WIDTH = 130
ROW_HEIGHT = 26
BAR_HEIGHT = 18
PAD = 6
MAX_LABEL = 14  # characters that fit in LABEL_WIDTH at 12px (CJK); longer labels are cut, the full one is in <title>


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str
    value_text: str
    x: int
    y: int
    width: int
    height: int
    text_y: int
    value_x: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int


def bar_chart(items: list[tuple[str, Decimal | int, str]]) -> Chart:
    """items: (label, value, value shown as text). Bar lengths are proportional to the largest value."""
    top = max((Decimal(v) for _, v, _ in items), default=Decimal(0))
    bars = []
    for i, (label, value, text) in enumerate(items):
        width = int((Decimal(value) / top * BAR_WIDTH).to_integral_value()) if top > 0 else 0
        if value and width < 1:
            width = 1
        y = PAD + i * ROW_HEIGHT
        short = label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"
        bars.append(Bar(label=label, short_label=short, value_text=text, x=LABEL_WIDTH, y=y, width=width,
                        height=BAR_HEIGHT, text_y=y + BAR_HEIGHT - 4, value_x=LABEL_WIDTH + width + 6))
    return Chart(bars=bars, width=LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH, height=PAD * 2 + ROW_HEIGHT * len(bars),
                 label_width=LABEL_WIDTH)
