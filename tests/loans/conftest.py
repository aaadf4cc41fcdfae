from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count

import pytest

from market.accounts.models import OrgKind, Role
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW

_n = count(1)


def make_asset(session, owner, kind=IpKind.INVENTION, status=LegalStatus.GRANTED, **kw) -> IpAsset:
    n = next(_n)
    asset = IpAsset(kind=kind, application_number=f"2016{n:08d}X", title=f"一种测试专利{n}", owner_org_id=owner.id,
                    legal_status=status, pledge_state=kw.pop("pledge_state", PledgeState.FREE), created_at=NOW,
                    updated_at=NOW, **kw)
    session.add(asset)
    session.flush()
    return asset


def enterprise_user(session, enterprise):
    """A user of the enterprise (made when it has none): the one who confirms its loans."""
    from sqlalchemy import select

    from market.accounts.models import User
    from tests.conftest import _hashed

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
    from market.loans.signing import confirm_loan, sign_loan

    loan = sign_loan(session, bank_user, enterprise_org_id=enterprise.id, now=now, **kw)
    return confirm_loan(session, enterprise_user(session, enterprise), loan.id, now)


class World:
    def __init__(self, session, factory):
        self.session = session
        self.bank_user = factory.user(Role.BANK)
        self.staff = factory.user(Role.STAFF)
        self.enterprise = factory.org(OrgKind.ENTERPRISE)
        self.guarantor = factory.org(OrgKind.GUARANTOR)
        self.insurer = factory.org(OrgKind.INSURER)

    def asset(self, **kw):
        return make_asset(self.session, self.enterprise, **kw)

    def loan(self, principal="4000000", rate="0.0500", signed_on=date(2016, 3, 1), term=12, assets=None, **kw):
        """A direct loan, confirmed by the enterprise (in effect, pledged)."""
        assets = assets or [self.asset()]
        return confirmed_loan(self.session, self.bank_user, self.enterprise, principal=Decimal(principal),
                              annual_rate=Decimal(rate), term_months=term, asset_ids=[a.id for a in assets],
                              signed_on=signed_on, registration_number="X2016500000123", **kw)


@pytest.fixture
def world(session, factory):
    return World(session, factory)


def run_together(app, user_ids, action) -> list[str]:
    """Run `action(session, user)` for each user id in its own thread, app context and session, all starting at
    the same moment; each commits on success. Returns the outcomes: "ok" or the name of the exception raised.

    On SQLite a writing transaction takes the write lock at BEGIN (IMMEDIATE), so the later ones queue behind the
    first and then see its work; on PostgreSQL they all read first and the database decides."""
    import threading

    from market.accounts.models import User
    from market.db import db

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

    threads = [threading.Thread(target=run, args=(i,)) for i in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes
