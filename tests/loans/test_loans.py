"""Loans, pledges, repayments, monitoring, default, claims and the fund ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.errors import Conflict, InvalidInput
from market.ip.models import IpKind, LegalStatus, PledgeState
from market.loans import claims, default, fund, repayments, schedule, watch
from market.loans.models import CompensationStatus, LedgerAccount, LoanStatus, Pledge, RepaymentMethod
from market.notices.models import Notice
from market.policy.models import Policy
from market.policy.seed import SEED_POLICIES
from tests.conftest import NOW

D = Decimal


def test_sign_loan_pledges_asset_and_records_benchmark(world):
    asset = world.asset()
    loan = world.loan(assets=[asset])
    assert asset.pledge_state is PledgeState.PLEDGED
    assert loan.benchmark_rate == D("0.0435") and loan.rate_within_cap
    assert loan.policy.code == "cq-2015" and loan.maturity == date(2017, 3, 1)
    assert [p.active for p in loan.pledges] == [True]


def test_asset_already_pledged_is_refused(world):
    asset = world.asset()
    world.loan(assets=[asset])
    with pytest.raises(Conflict):
        world.loan(assets=[asset])


@pytest.mark.parametrize("kw", [
    {"status": LegalStatus.APPLICATION}, {"status": LegalStatus.LAPSED}, {"kind": IpKind.TRADEMARK},
])
def test_unpledgeable_assets(world, kw):
    with pytest.raises(InvalidInput):
        world.loan(assets=[world.asset(**kw)])


def test_frozen_asset_and_foreign_asset(world, factory):
    from market.accounts.models import OrgKind
    from tests.factories import make_asset

    with pytest.raises(Conflict):
        world.loan(assets=[world.asset(frozen=True)])
    other = make_asset(world.session, factory.org(OrgKind.ENTERPRISE))
    with pytest.raises(InvalidInput):
        world.loan(assets=[other])


def test_database_enforces_one_active_pledge_per_asset(world):
    from sqlalchemy.exc import IntegrityError

    asset = world.asset()
    loan = world.loan(assets=[asset])
    nested = world.session.begin_nested()
    world.session.add(Pledge(loan_id=loan.id, asset_id=asset.id, registration_number="dup",
                             registered_on=date(2016, 3, 1), active=True))
    with pytest.raises(IntegrityError):
        world.session.flush()
    nested.rollback()
    world.session.add(Pledge(loan_id=loan.id, asset_id=asset.id, registration_number="old",
                             registered_on=date(2016, 3, 1), active=False))
    world.session.flush()  # inactive pledges do not count


def test_policy_in_force_at_signing_decides_kinds_and_cap(world):
    newer = Policy(**{**SEED_POLICIES[0], "code": "cq-2020", "effective_from": date(2020, 1, 1),
                      "rate_cap_ratio": D("1.2"), "eligible_kinds": [*SEED_POLICIES[0]["eligible_kinds"], "trademark"]},
                   created_at=NOW)
    world.session.add(newer)
    world.session.flush()
    # 1.4 × benchmark: within 150 % (2015 policy) but above 120 % (2020 policy)
    old = world.loan(rate="0.0609", signed_on=date(2019, 12, 31))
    new = world.loan(rate="0.0609", signed_on=date(2020, 1, 2))
    assert old.policy.code == "cq-2015" and old.rate_within_cap
    assert new.policy.code == "cq-2020" and not new.rate_within_cap
    with pytest.raises(InvalidInput):
        world.loan(assets=[world.asset(kind=IpKind.TRADEMARK)], signed_on=date(2019, 6, 1))
    world.loan(assets=[world.asset(kind=IpKind.TRADEMARK)], signed_on=date(2020, 6, 1))


def test_schedule_equal_principal_and_bullet():
    items = schedule.schedule(D("1000000"), D("0.06"), 3, date(2016, 1, 31))
    assert [i.principal for i in items] == [D("333333.33"), D("333333.33"), D("333333.34")]
    assert items[0].interest == D("5000.00") and items[1].due_on == date(2016, 3, 31)
    assert items[0].due_on == date(2016, 2, 29)
    bullet = schedule.schedule(D("1000000"), D("0.06"), 3, date(2016, 1, 1), RepaymentMethod.BULLET)
    assert [i.principal for i in bullet] == [0, 0, D("1000000")] and all(i.interest == D("5000.00") for i in bullet)


def test_repayments_overdue_tick_and_full_repayment_releases_pledge(world):
    asset = world.asset()
    loan = world.loan(principal="1200000", rate="0.06", term=2, assets=[asset])
    assert watch.tick(world.session, date(2016, 4, 1), NOW)["overdue"] == 0  # due 2016-04-01, not yet late
    assert watch.tick(world.session, date(2016, 4, 2), NOW)["overdue"] == 1
    assert loan.status is LoanStatus.OVERDUE
    assert world.session.scalar(select(Notice).where(Notice.recipient_org_id == loan.bank_org_id))
    repayments.record_repayment(world.session, world.bank_user, loan.id, paid_on=date(2016, 4, 3),
                                principal=D("600000"), interest=D("6000"), now=NOW)
    assert loan.status is LoanStatus.ACTIVE
    with pytest.raises(InvalidInput):
        repayments.record_repayment(world.session, world.bank_user, loan.id, paid_on=date(2016, 5, 1),
                                    principal=D("600000.01"), interest=0, now=NOW)
    repayments.record_repayment(world.session, world.bank_user, loan.id, paid_on=date(2016, 5, 1),
                                principal=D("600000"), interest=D("3000"), now=NOW)
    assert loan.status is LoanStatus.REPAID
    assert asset.pledge_state is PledgeState.FREE and not loan.pledges[0].active
    world.loan(assets=[asset])  # free again


def test_watchlist_flags_lapsed_and_transferred_once(world, factory):
    from market.accounts.models import OrgKind

    a, b = world.asset(), world.asset()
    loan = world.loan(assets=[a, b])
    a.legal_status = LegalStatus.LAPSED
    b.owner_org_id = factory.org(OrgKind.ENTERPRISE).id
    world.session.flush()
    assert watch.tick(world.session, date(2016, 3, 2), NOW)["flags"] == 2
    assert watch.tick(world.session, date(2016, 3, 3), NOW)["flags"] == 0
    assert sorted(f.reason for f in loan.flags) == ["lapsed", "transferred"]
    staff_notices = world.session.scalars(select(Notice).where(Notice.recipient_role == "staff")).all()
    assert len(staff_notices) == 2


def _defaulted(world, **kw):
    loan = world.loan(**kw)
    default.declare_default(world.session, world.bank_user, loan.id, NOW, reason="逾期未还")
    return loan


def test_claim_4m_loss_is_1_2m_and_6m_is_1_5m(world):
    c1 = claims.assemble_claim(world.session, _defaulted(world, principal="4000000"), D("0"), NOW)
    assert c1.loss == D("4000000.00") and c1.compensation == D("1200000.00")
    c2 = claims.assemble_claim(world.session, _defaulted(world, principal="8000000"), D("2000000"), NOW)
    assert c2.loss == D("6000000.00") and c2.compensation == D("1500000.00")


def test_claim_above_rate_cap_gets_nothing_with_reason(world):
    loan = _defaulted(world, rate=str(D("0.0435") * D("1.6")))
    claim = claims.assemble_claim(world.session, loan, D("0"), NOW)
    assert claim.compensation == 0 and claim.status is CompensationStatus.NOT_COVERED
    assert "150%" in (claim.reason % claim.reason_params)


def test_claim_rate_exactly_150_percent_is_covered(world):
    claim = claims.assemble_claim(world.session, _defaulted(world, rate="0.06525"), D("0"), NOW)
    assert claim.compensation == D("1200000.00")


def test_claim_after_guarantor_and_insurer_shares(world):
    loan = _defaulted(world, principal="10000000", guarantor_org_id=world.guarantor.id,
                      guarantee_coverage=D("0.3"), guarantee_premium=D("100000"), insurer_org_id=world.insurer.id,
                      insurance_coverage=D("0.3"), insurance_premium=D("50000"))
    assert loan.premium_subsidy == D("100000.00")
    claim = claims.assemble_claim(world.session, loan, D("2000000"), NOW)
    assert (claim.loss, claim.guarantor_share, claim.insurer_share, claim.bank_loss) == (
        D("8000000.00"), D("2400000.00"), D("2400000.00"), D("3200000.00"))
    assert claim.compensation == D("960000.00")


def test_one_claim_per_loan_and_only_for_defaulted_loans(world):
    with pytest.raises(Conflict):
        claims.assemble_claim(world.session, world.loan(), D("0"), NOW)
    loan = _defaulted(world)
    claims.assemble_claim(world.session, loan, D("0"), NOW)
    with pytest.raises(Conflict):
        claims.assemble_claim(world.session, loan, D("0"), NOW)


def test_fund_opening_pay_idempotent_and_double_entry(world):
    s = world.session
    assert fund.fund_balance(s) == D("25000000.00")
    claim = claims.assemble_claim(s, _defaulted(world), D("0"), NOW)
    claims.approve_claim(s, world.staff, claim.id, NOW)
    assert claim.status is CompensationStatus.PAID
    assert fund.pay_claim(s, claim, NOW) is False  # retry: nothing more
    assert fund.fund_balance(s) == D("23800000.00")
    assert fund.account_balance(s, LedgerAccount.FUND_CASH) == D("23800000.00")
    assert fund.account_balance(s, LedgerAccount.COMPENSATION_PAID) == D("1200000.00")
    assert fund.account_balance(s, LedgerAccount.FUND_CONTRIBUTIONS) == D("-25000000.00")
    total = sum((fund.account_balance(s, a) for a in LedgerAccount), D(0))
    assert total == 0


def test_subsidy_paid_once_from_the_fund(world):
    s = world.session
    loan = world.loan(principal="10000000", guarantor_org_id=world.guarantor.id, guarantee_coverage=D("0.5"),
                      guarantee_premium=D("150000"))
    t1 = fund.pay_subsidy(s, world.staff, loan.id, NOW)
    t2 = fund.pay_subsidy(s, world.staff, loan.id, NOW)
    assert t1.id == t2.id and t1.amount == D("100000.00")
    assert fund.fund_balance(s) == D("24900000.00")
    assert fund.account_balance(s, LedgerAccount.SUBSIDIES_PAID) == D("100000.00")


def test_fund_never_negative_claims_wait_fifo_until_top_up(world):
    s = world.session
    # drain the fund to 2,000,000 with big claims: 15 × 1.5M = 22.5M, then 500,000 more
    drained = []
    for _ in range(16):
        claim = claims.assemble_claim(s, _defaulted(world, principal="6000000"), D("0"), NOW)
        claims.approve_claim(s, world.staff, claim.id, NOW)
        drained.append(claim)
    assert fund.fund_balance(s) == D("1000000.00")  # 16 × 1.5M = 24M paid
    big = claims.assemble_claim(s, _defaulted(world, principal="6000000"), D("0"), NOW)
    small = claims.assemble_claim(s, _defaulted(world, principal="1000000"), D("0"), NOW)
    from datetime import timedelta
    claims.approve_claim(s, world.staff, big.id, NOW)
    claims.approve_claim(s, world.staff, small.id, NOW + timedelta(minutes=1))
    # the small claim (300,000) would fit but must wait behind the big one (FIFO by approval time)
    assert big.status is CompensationStatus.APPROVED and small.status is CompensationStatus.APPROVED
    assert fund.fund_balance(s) == D("1000000.00")
    assert [c.id for c in fund.waiting_claims(s)] == [big.id, small.id]
    with pytest.raises(Conflict):  # a subsidy larger than the balance is refused, never overdrawn
        loan = world.loan(principal="200000000", guarantor_org_id=world.guarantor.id, guarantee_coverage=D("0.5"),
                          guarantee_premium=D("2000000"))
        fund.pay_subsidy(s, world.staff, loan.id, NOW)
    fund.contribute(s, world.staff, D("600000"), NOW)
    s.refresh(big)
    s.refresh(small)
    assert big.status is CompensationStatus.PAID and small.status is CompensationStatus.APPROVED
    assert fund.fund_balance(s) == D("100000.00")
    fund.contribute(s, world.staff, D("200000"), NOW)
    s.refresh(small)
    assert small.status is CompensationStatus.PAID and fund.fund_balance(s) == D("0.00")
    assert fund.account_balance(s, LedgerAccount.FUND_CASH) == D("0.00")
