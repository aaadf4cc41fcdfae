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


def page_of(total: int, size: int = 25) -> Page:
    """The current request's page of `total` rows, `size` a page; a page past the end shows the last one."""
    pages = max((total + size - 1) // size, 1)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    return Page(page=page, pages=pages, offset=(page - 1) * size, size=size, total=total)
