"""Highlighting done once, in Python, from the stored text, so every backend marks matches the same way."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from html import escape

from .analysis import plain_text, spans

__all__ = ["highlight", "highlights_for"]


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or touching ranges (CJK bigrams overlap, so ``锂电池`` becomes one mark)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def highlight(text: str, query_tokens: Collection[str], fragment_size: int = 160) -> str | None:
    """Return HTML-escaped plain ``text`` with each match of ``query_tokens`` wrapped in ``<mark>``.

    Text longer than ``fragment_size`` is cut to a window starting a little before the first match, with
    ``…`` where text was left out. ``None`` when nothing matches.
    """
    wanted = set(query_tokens)
    plain = plain_text(text)
    marks = _merged([(t.start, t.end) for t in spans(text) if t.text in wanted])
    if not marks:
        return None
    lo, hi = 0, len(plain)
    if hi > fragment_size:
        lo = max(0, min(marks[0][0] - fragment_size // 4, hi - fragment_size))
        hi = lo + fragment_size
    parts: list[str] = ["…"] if lo > 0 else []
    pos = lo
    for start, end in marks:
        if start >= hi:
            break
        start, end = max(start, pos), min(end, hi)
        parts.append(escape(plain[pos:start]))
        parts.append(f"<mark>{escape(plain[start:end])}</mark>")
        pos = end
    parts.append(escape(plain[pos:hi]))
    if hi < len(plain):
        parts.append("…")
    return "".join(parts)


def highlights_for(
    stored: Mapping[str, Mapping[str, str]],
    fields: Sequence[str],
    query_tokens: Collection[str],
    fragment_size: int,
) -> dict[str, dict[str, str]]:
    """Highlights for each hit id in ``stored`` (id → field → stored text); fields without a match are left out."""
    result: dict[str, dict[str, str]] = {}
    if not fields or not query_tokens:
        return result
    for doc_id, texts in stored.items():
        marked = {}
        for name in fields:
            snippet = highlight(texts.get(name) or "", query_tokens, fragment_size)
            if snippet is not None:
                marked[name] = snippet
        if marked:
            result[doc_id] = marked
    return result
