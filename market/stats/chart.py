"""Geometry of a small server-rendered horizontal bar chart (the SVG itself is in templates/stats/_bar_chart.html).

No JavaScript: each bar carries its label on the left and its value as text on the right, so the chart reads
without scripts or colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LABEL_WIDTH = 210
BAR_WIDTH = 240
VALUE_WIDTH = 110
ROW_HEIGHT = 30
BAR_HEIGHT = 20
PAD = 6
AXIS_HEIGHT = 28  # the value axis under the bars: a line, ticks at 0, half and the largest value
MAX_LABEL = 14  # characters that fit in LABEL_WIDTH at 14px (CJK); longer labels are cut, the full one is in <title>


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
class Tick:
    x: int
    text: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    axis_y: int = 0
    ticks: tuple[Tick, ...] = ()


def bar_chart(items: list[tuple[str, Decimal | int, str]], fmt=None) -> Chart:
    """items: (label, value, value shown as text). Bar lengths are proportional to the largest value; the axis under
    the bars is marked at 0, half and the largest value, written by `fmt` (the value as text by default)."""
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
    axis_y = PAD + ROW_HEIGHT * len(bars)
    fmt = fmt or _number
    ticks = tuple(Tick(LABEL_WIDTH + BAR_WIDTH * n // 2, fmt(top * n / 2)) for n in range(3)) if top > 0 else ()
    return Chart(bars=bars, width=LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH, height=axis_y + AXIS_HEIGHT + PAD,
                 label_width=LABEL_WIDTH, axis_y=axis_y, ticks=ticks)


def _number(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.1f}"
