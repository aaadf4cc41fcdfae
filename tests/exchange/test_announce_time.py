"""A lot's announcement notice gives the start of bidding in Beijing time, in the reader's format, like the rest of
the page (#16 §3: it read "2026-12-29 03:00 UTC"); notices stored before keep working."""

from __future__ import annotations

from decimal import Decimal as D

from flask_babel import force_locale
from sqlalchemy import select

from market.exchange import disposal, listings
from market.exchange.announce import bidding_start_label
from market.notices.models import Notice
from market.notices.service import text_of
from tests.conftest import NOW
from tests.exchange.test_disposal import Defaulted
from tests.factories import CHECKED


def test_the_announcement_notice_tells_the_start_in_beijing_time(session, factory, app):
    d = Defaulted(session, factory)
    [listing] = disposal.list_loan_for_disposal(session, d.staff, d.loan.id, NOW,
                                                valuations={d.assets[0].id: D("3000000")})
    listings.review_listing(session, d.staff, listing, CHECKED, True, NOW)
    notice = next(n for n in session.scalars(select(Notice).where(Notice.link == f"/exchange/{listing.id}"))
                  if "starts" in (n.params or {}))
    starts = listing.bidding_starts_at  # naive UTC
    with app.test_request_context():
        with force_locale("zh_CN"):
            zh = text_of(notice)
        with force_locale("en"):
            en = text_of(notice)
    beijing_hour = (starts.hour + 8) % 24
    assert "UTC" not in zh and "UTC" not in en
    assert f"{starts.year}年" in zh and f"{beijing_hour:02d}:{starts.minute:02d}" in zh
    assert f"{starts.year}" in en and f"{beijing_hour % 12 or 12}:{starts.minute:02d}" in en, en
    with app.test_request_context(), force_locale("zh_CN"):
        assert bidding_start_label("2026-12-29 03:00 UTC") == "2026年12月29日 11:00:00"
        assert bidding_start_label("not a time") == "not a time"
