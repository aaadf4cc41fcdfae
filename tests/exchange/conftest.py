from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from itertools import count

import pytest

from market.accounts.models import OrgKind, Role
from market.exchange import preemption as preemption_mod
from market.exchange import service
from market.exchange.models import ListingSource, NoticeMethod
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW

_n = count(1)


def make_asset(session, owner_org_id=None) -> IpAsset:
    n = next(_n)
    asset = IpAsset(kind=IpKind.INVENTION, title=f"一种锂电池隔膜的制备方法{n}", legal_status=LegalStatus.GRANTED,
                    pledge_state=PledgeState.PLEDGED, owner_org_id=owner_org_id, filing_date=date(2016, 3, 1),
                    ipc_codes=["H01M"], frozen=False, created_at=NOW, updated_at=NOW)
    session.add(asset)
    session.flush()
    return asset


CHECKED = {item: True for item in service.CHECKLIST}


def build_lot(session, factory, *, bidding: bool = True, start=NOW, hours: int = 24, preemption=()):
    """A default listing by a bank, reviewed and announced; opened by the clock when `bidding`."""
    staff = factory.user(Role.STAFF)
    owner = factory.org(OrgKind.ENTERPRISE)
    bank = factory.user(Role.BANK)
    asset = make_asset(session, owner.id)
    notice = start - timedelta(days=30)
    listing = service.create_listing(
        session, bank, asset_id=asset.id, source=ListingSource.DEFAULT, valuation=D("1000000"),
        starting_price=D("700000"), increment=D("10000"), deposit_amount=D("70000"), notice_starts_at=notice,
        bidding_starts_at=start, ends_at=start + timedelta(hours=hours), loan_id=None, now=notice - timedelta(days=5),
        preemption=preemption)
    for holder in preemption_mod.holders_of(session, listing.id):  # told by letter a week before the announcement
        preemption_mod.record_notice(session, staff, holder.id, told_at=notice - timedelta(days=10),
                                     method=NoticeMethod.LETTER, note=None, now=notice - timedelta(days=5))
    service.submit_listing(session, bank, listing, notice - timedelta(days=4))
    service.review_listing(session, staff, listing, CHECKED, True, notice - timedelta(days=3))
    if bidding:
        service.tick(session, start)
    return listing, {"staff": staff, "bank": bank, "owner": owner, "asset": asset}


@pytest.fixture
def lot(session, factory):
    return build_lot(session, factory)
