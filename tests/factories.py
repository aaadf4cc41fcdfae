"""The test builders every area's tests share: an IP asset, a confirmed loan, a lot in bidding, a published need,
a valuation input, a bearer header.

Fixtures live in the conftests; the functions and classes they and the tests build with live here, so that no test
imports another area's conftest. Builders write directly (no audit noise) unless they go through a service on purpose.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from sqlalchemy import event, select

from market.accounts.models import Organisation, OrgKind, Role, User
from market.api.auth import issue_token
from market.db import db
from market.exchange import clock, listings
from market.exchange import preemption as preemption_mod
from market.exchange.models import ListingSource, NoticeMethod
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.loans.signing import confirm_loan, sign_loan
from market.needs import docking
from market.needs import service as needs_service
from market.needs.docking import ProductInput
from market.needs.rules import REVIEW_CHECKLIST
from market.needs.service import NeedInput
from market.valuations import service as valuations_service
from market.valuations.models import ValuationMethod, ValueType
from tests.conftest import NOW, _hashed, in_threads

_n = count(1)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def make_asset(session, owner: Organisation | int | None = None, kind: IpKind = IpKind.INVENTION,
          status: LegalStatus = LegalStatus.GRANTED, *, pledge_state: PledgeState = PledgeState.FREE,
          ipc=("H01M10/0525",), title: str | None = None, **fields) -> IpAsset:
    """A granted, free invention of `owner` (an organisation or its id; None for nobody's), flushed, filed on
    1 January 2024 (its right lasts past any loan the tests sign: pledgeable needs a known remaining life).
    Any other column of IpAsset may be given (frozen, filing_date=None, ...)."""
    n = next(_n)
    fields.setdefault("filing_date", date(2024, 1, 1))
    owner_id = owner.id if isinstance(owner, Organisation) else owner
    made = IpAsset(kind=kind, application_number=fields.pop("application_number", f"2099{n:08d}X"),
                   title=title or f"一种锂电池极片{n}", ipc_codes=list(ipc), owner_org_id=owner_id, legal_status=status,
                   pledge_state=pledge_state, frozen=fields.pop("frozen", False), created_at=NOW, updated_at=NOW,
                   **fields)
    session.add(made)
    session.flush()
    return made


def bearer(session, user: User, scopes: str = "read write") -> dict:
    """The Authorization header of a new API token of `user` (issued directly, not through POST /api/v1/tokens)."""
    _token, secret = issue_token(session, user, "test", scopes, NOW)
    return {"Authorization": f"Bearer {secret}"}


@contextmanager
def sql_selects(app):
    """The SELECT statements the app's engine runs inside the block (a list, filled as they run)."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


# --- loans ---------------------------------------------------------------------------------------------------------


def enterprise_user(session, enterprise: Organisation) -> User:
    """A user of the enterprise (made when it has none): the one who confirms its loans."""
    user = session.scalar(select(User).where(User.organisation_id == enterprise.id, User.role == Role.ENTERPRISE)
                          .order_by(User.id).limit(1))
    if user is None:
        n = next(_n)
        user = User(email=f"ent-confirm{n}-{enterprise.id}@example.cq", password_hash=_hashed, name=f"ent{n}",
                    role=Role.ENTERPRISE, organisation=enterprise, locale="zh_CN", active=True, session_version=1,
                    created_at=NOW)
        session.add(user)
        session.flush()
    return user


def confirmed_loan(session, bank_user, enterprise, now=NOW, **kw):
    """A loan the bank records (`sign_loan`, pending) and the enterprise confirms (`confirm_loan`): in effect, with
    its pledges, as every direct loan must be before it counts."""
    loan = sign_loan(session, bank_user, enterprise_org_id=enterprise.id, now=now, **kw)
    return confirm_loan(session, enterprise_user(session, enterprise), loan.id, now)


def bank_loan(session, factory, principal="1000000", assets: int = 1):
    """A new bank user's confirmed loan to a new enterprise: `principal` yuan at 5 % over 12 months, signed on
    2016-03-01 on `assets` new patents. (bank user, loan, the pledged assets)."""
    bank = factory.user(Role.BANK)
    ent = factory.org(OrgKind.ENTERPRISE)
    pledged = [make_asset(session, ent) for _ in range(assets)]
    loan = confirmed_loan(session, bank, ent, principal=Decimal(principal), annual_rate=Decimal("0.05"),
                          term_months=12, asset_ids=[a.id for a in pledged], signed_on=date(2016, 3, 1), now=NOW,
                          registration_number="R1")
    return bank, loan, pledged


def run_together(app, user_ids, action) -> list[str]:
    """Run `action(session, user)` for each user id in its own thread, app context and session, all starting at
    the same moment; each commits on success. Returns the outcomes: "ok" or the name of the exception raised.

    On SQLite a writing transaction takes the write lock at BEGIN (IMMEDIATE), so the later ones queue behind the
    first and then see its work; on PostgreSQL they all read first and the database decides."""
    barrier = threading.Barrier(len(user_ids))
    outcomes: list[str] = []

    def run(user_id):
        with app.app_context():
            session = db.session
            try:
                barrier.wait(timeout=10)
                user = session.get(User, user_id)
                _ = user.organisation.is_verified
                action(session, user)
                session.commit()
                outcomes.append("ok")
            except Exception as exc:  # noqa: BLE001 - a loser may see Conflict or a lock error
                session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                session.remove()

    in_threads(run, [(i,) for i in user_ids], timeout=30)
    return outcomes


class LoanWorld:
    """A bank user, staff, an enterprise, a guarantor and an insurer; direct loans of the enterprise."""

    def __init__(self, session, factory):
        self.session = session
        self.bank_user = factory.user(Role.BANK)
        self.staff = factory.user(Role.STAFF)
        self.enterprise = factory.org(OrgKind.ENTERPRISE)
        self.guarantor = factory.org(OrgKind.GUARANTOR)
        self.insurer = factory.org(OrgKind.INSURER)

    def asset(self, **kw):
        """A patent of this world's enterprise."""
        return make_asset(self.session, self.enterprise, **kw)

    def loan(self, principal="4000000", rate="0.0500", signed_on=date(2016, 3, 1), term=12, assets=None, **kw):
        """A direct loan, confirmed by the enterprise (in effect, pledged)."""
        assets = assets or [self.asset()]
        return confirmed_loan(self.session, self.bank_user, self.enterprise, principal=Decimal(principal),
                              annual_rate=Decimal(rate), term_months=term, asset_ids=[a.id for a in assets],
                              signed_on=signed_on, registration_number="X2016500000123", **kw)


# --- exchange ------------------------------------------------------------------------------------------------------

CHECKED = {item: True for item in listings.CHECKLIST}
# The patent of a default lot: pledged, filed on 2016-03-01, IPC H01M (`make_asset(session, owner, **LOT_ASSET)`).
LOT_ASSET = {"pledge_state": PledgeState.PLEDGED, "ipc": ["H01M"], "filing_date": date(2016, 3, 1)}


def build_lot(session, factory, *, bidding: bool = True, start=NOW, hours: int = 24, preemption=()):
    """A default listing by a bank, reviewed and announced; opened by the clock when `bidding`."""
    staff = factory.user(Role.STAFF)
    owner = factory.org(OrgKind.ENTERPRISE)
    bank = factory.user(Role.BANK)
    pledged = make_asset(session, owner, **LOT_ASSET)
    notice = start - timedelta(days=30)
    listing = listings.create_listing(
        session, bank, asset_id=pledged.id, source=ListingSource.DEFAULT, valuation=Decimal("1000000"),
        starting_price=Decimal("700000"), increment=Decimal("10000"), deposit_amount=Decimal("70000"),
        notice_starts_at=notice, bidding_starts_at=start, ends_at=start + timedelta(hours=hours), loan_id=None,
        now=notice - timedelta(days=5), preemption=preemption)
    for holder in preemption_mod.holders_of(session, listing.id):  # told by letter a week before the announcement
        preemption_mod.record_notice(session, staff, holder.id, told_at=notice - timedelta(days=10),
                                     method=NoticeMethod.LETTER, note=None, now=notice - timedelta(days=5))
    listings.submit_listing(session, bank, listing, notice - timedelta(days=4))
    listings.review_listing(session, staff, listing, CHECKED, True, notice - timedelta(days=3))
    if bidding:
        clock.tick(session, start)
    return listing, {"staff": staff, "bank": bank, "owner": owner, "asset": pledged}


# --- needs ---------------------------------------------------------------------------------------------------------


def all_ticks() -> dict:
    """Every item of the need review checklist, ticked."""
    return {key: True for key, _label in REVIEW_CHECKLIST}


class NeedsKit:
    """Enterprises, their needs (as input or published) and bank products."""

    def __init__(self, session, factory):
        self.session = session
        self.factory = factory

    def enterprise(self, **kw):
        return self.factory.user(Role.ENTERPRISE, **kw)

    def data(self, assets, **over) -> NeedInput:
        base = dict(title="锂电池产线扩产", amount=Decimal("3000000.00"), term_months=12, purpose="购置涂布设备",
                    max_rate=Decimal("0.0600"), asset_ids=[a.id for a in assets])
        base.update(over)
        return NeedInput(**base)

    def published_need(self, enterprise=None, staff=None, n_assets=2, **over):
        enterprise = enterprise or self.enterprise()
        staff = staff or self.factory.user(Role.STAFF)
        assets = [make_asset(self.session, enterprise.organisation) for _ in range(n_assets)]
        need = needs_service.create_need(self.session, enterprise, self.data(assets, **over), NOW, submit=True)
        needs_service.review_need(self.session, staff, need.id, True, all_ticks(), None, NOW)
        return need

    def product(self, bank_user, **over):
        base = dict(name="知识产权质押贷", min_amount=Decimal("500000"), max_amount=Decimal("10000000"),
                    min_term_months=6, max_term_months=36, min_rate=Decimal("0.0435"), max_rate=Decimal("0.0650"),
                    accepted_kinds=["invention", "utility_model"], max_ltv={"invention": Decimal("0.4")})
        base.update(over)
        return docking.save_product(self.session, bank_user, ProductInput(**base), NOW)

    def accepted_offer(self, conditions: str | None = None):
        """A new enterprise's published need offering two patents, and a new bank's offer on it (¥2.8 million at
        5.2 % for 12 months) the enterprise accepted: the signing flow's start. (enterprise, bank user, need, offer)"""
        ent = self.enterprise()
        need = self.published_need(ent)
        bank = self.factory.user(Role.BANK)
        offer = docking.make_offer(self.session, bank, need.id, Decimal("2800000.00"), Decimal("0.0520"), 12,
                                   NOW + timedelta(hours=1), conditions=conditions)
        docking.accept_offer(self.session, ent, offer.id, NOW + timedelta(hours=2))
        return ent, bank, need, offer


# --- valuations ----------------------------------------------------------------------------------------------------


def vinput(asset, **kw) -> valuations_service.ValuationInput:
    """A market valuation of ¥1,000,000 by the income method, dated ten days before NOW."""
    fields = dict(asset_id=asset.id, value_type=ValueType.MARKET, amount=Decimal("1000000"),
                  valuation_date=NOW.date() - timedelta(days=10), method=ValuationMethod.INCOME,
                  signer_name="王评估", signer_qualification="CPV-0001")
    fields.update(kw)
    return valuations_service.ValuationInput(**fields)
