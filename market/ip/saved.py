"""Saved searches: a bank saves a patent search and is told when newly imported or registered patents match it.

New matches are found through the search engine itself (same rules as the search page): the saved query plus a
range on the index's ``created_at`` date, ``(last_checked_at, now]``. `check_saved_searches` runs after an outbox
drain that left nothing behind (``market search sync``, the import command and page, a registration) and after a
reindex; it sends one notice per saved search with new matches and moves ``last_checked_at`` to ``now``, so
running it twice never alerts twice. Limit: a patent whose database row was committed with a ``created_at`` before
a check but indexed only after it (an engine outage that outlasts the check is fine: the check waits for an empty
outbox) would be missed; rows are created and queued in one transaction, so this needs a commit racing the drain.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from market.accounts.models import Role, User
from market.db import lock_row
from market.errors import InvalidInput, NotFound
from market.ip import finder
from market.ip.labels import FACET_TITLES
from market.ip.models import SavedSearch
from market.ip.service import INDEX_NAME
from market.notices.service import notify
from market.security import require
from search import SearchBackend, SearchError

log = logging.getLogger(__name__)

MAX_PER_USER = 50
ALERT_MSGID = "%(count)s new patents match the saved search '%(name)s'"  # translated when shown (ip.po)


def _params(query: dict) -> finder.PatentSearch:
    args = MultiDict()
    for key, value in query.items():
        for v in value if isinstance(value, list) else [value]:
            args.add(key, str(v))
    return finder.parse_params(args)


def save_search(session: Session, actor: User, name: str, args, now: datetime) -> SavedSearch:
    """Save the search described by request-like ``args`` (a MultiDict) under ``name``."""
    require(actor, Role.BANK)
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("Give the saved search a name of at most 100 characters.")
    params = finder.parse_params(args)
    lock_row(session, User, actor.id)  # saves by one user at once queue, so the limit counts what the others saved
    mine = session.scalar(select(func.count()).select_from(SavedSearch).where(SavedSearch.owner_user_id == actor.id))
    if mine >= MAX_PER_USER:
        raise InvalidInput("You can keep at most %(n)s saved searches.", n=MAX_PER_USER)
    query = params.as_args()
    query.pop("per_page", None)
    saved = SavedSearch(owner_user_id=actor.id, owner_org_id=actor.organisation_id, name=name, query=query,
                        created_at=now, last_checked_at=now, last_seen_at=now)
    session.add(saved)
    session.flush()
    return saved


def describe(query: dict) -> list[str]:
    """The conditions of a saved search besides its text, for people: "Pledgeable now", "Kind: invention, …"."""
    parts = [_("Pledgeable now")] if str(query.get("pledgeable", "")).lower() in ("1", "true", "on") else []
    for name, title in FACET_TITLES.items():
        values = query.get(name)
        if values:
            parts.append(f"{title}: {', '.join(map(str, values if isinstance(values, list) else [values]))}")
    return parts


def saved_searches_of(session: Session, actor: User) -> list[SavedSearch]:
    return list(session.scalars(
        select(SavedSearch).where(SavedSearch.owner_user_id == actor.id).order_by(SavedSearch.id)))


def _own(session: Session, actor: User, saved_id: int) -> SavedSearch:
    saved = session.get(SavedSearch, saved_id)
    if saved is None or saved.owner_user_id != actor.id:
        raise NotFound("This saved search does not exist.")
    return saved


def open_saved_search(session: Session, actor: User, saved_id: int, now: datetime) -> dict:
    """Mark the saved search as seen now; return its search args."""
    saved = _own(session, actor, saved_id)
    saved.last_seen_at = now
    session.flush()
    return dict(saved.query)


def delete_saved_search(session: Session, actor: User, saved_id: int) -> None:
    session.delete(_own(session, actor, saved_id))
    session.flush()


def matches_since(backend: SearchBackend, saved: SavedSearch, since: datetime, until: datetime | None,
                  today) -> int:
    """How many indexed patents match the saved search and were created in ``(since, until]``."""
    query = finder.build_query(_params(saved.query), today, page=1, per_page=0, facets=False)
    lo = since + timedelta(milliseconds=1)  # the index keeps milliseconds; bounds are inclusive
    ranges = {**query.ranges, "created_at": (lo, until)}
    return backend.search(INDEX_NAME, replace(query, ranges=ranges, highlight_fields=(), range_facets={})).total


def new_counts(session: Session, backend: SearchBackend, actor: User, now: datetime) -> dict[int, int | None]:
    """Saved search id → matches created since its owner last opened it (None when the engine is down)."""
    counts: dict[int, int | None] = {}
    for saved in saved_searches_of(session, actor):
        try:
            counts[saved.id] = matches_since(backend, saved, saved.last_seen_at, None, now.date())
        except (SearchError, InvalidInput):
            counts[saved.id] = None
    return counts


def check_saved_searches(session: Session, backend: SearchBackend, now: datetime) -> int:
    """Alert the owner of every saved search that new patents match; return the number of notices sent."""
    sent = 0
    for saved in session.scalars(select(SavedSearch).where(SavedSearch.last_checked_at < now)
                                 .order_by(SavedSearch.id)):
        try:
            count = matches_since(backend, saved, saved.last_checked_at, now, now.date())
        except InvalidInput:
            log.warning("saved search %s has an invalid query; skipped", saved.id)
            continue
        if count:
            notify(session, msgid=ALERT_MSGID, now=now, user_id=saved.owner_user_id,
                   link=f"/patents/saved/{saved.id}", count=count, name=saved.name)
            sent += 1
        saved.last_checked_at = now
    session.flush()
    return sent
