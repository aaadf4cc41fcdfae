"""Paging of long lists: the page asked for (`?page=`), the number of pages and the row offset."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request


@dataclass(frozen=True)
class Page:
    page: int
    pages: int
    offset: int
    size: int
    total: int


MAX_PAGE = 10_000


def requested_page(limit: int = MAX_PAGE) -> int:
    """The `?page=` asked for, within 1..limit: text, zero, negatives and pages beyond any list are clamped, so an
    absurd page never reaches an OFFSET or a search engine's result window (never a 500)."""
    raw = request.args.get("page", "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return 1
    page = int(raw) if len(raw) <= 9 else limit  # never int() of thousands of digits
    return min(max(page, 1), limit)


def page_of(total: int, size: int = 25) -> Page:
    """The current request's page of `total` rows, `size` a page; a page past the end shows the last one."""
    pages = max((total + size - 1) // size, 1)
    page = requested_page(pages)
    return Page(page=page, pages=pages, offset=(page - 1) * size, size=size, total=total)
