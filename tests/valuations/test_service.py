"""Valuation reports: value types, validity, the conflict rule, files, latest_valuation, accuracy."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.accounts.models import OrgKind, Role
from market.audit.models import AuditEntry
from market.errors import Conflict, Forbidden, InvalidInput
from market.valuations import conflicts, service
from market.valuations.accuracy import valuer_accuracy
from market.valuations.labels import VALUE_TYPE_LABELS
from market.valuations.models import Valuation, ValuationStatus, ValueType
from tests.conftest import NOW
from tests.factories import PDF, PNG, make_asset, vinput


def test_the_six_value_types_of_the_paper():
    assert [v.value for v in ValueType] == ["market", "normal_liquidation", "in_use", "mortgage_lending",
                                            "recoverable", "liquidation"]
    assert set(VALUE_TYPE_LABELS) == set(ValueType)


@pytest.mark.parametrize("value_type", list(ValueType))
def test_each_value_type_can_be_issued(world, value_type):
    v = world.issue(value_type=value_type)
    assert v.status is ValuationStatus.ISSUED and v.value_type is value_type


def test_default_validity_is_one_year_and_in_force_between_dates(world):
    v = world.issue(valuation_date=date(2026, 3, 1))
    assert v.valid_until == date(2027, 3, 1)
    assert not v.in_force(date(2026, 2, 28))
    assert v.in_force(date(2026, 3, 1)) and v.in_force(date(2027, 3, 1))
    assert not v.in_force(date(2027, 3, 2))
    assert service.one_year_after(date(2024, 2, 29)) == date(2025, 2, 28)


def test_input_rules(world):
    with pytest.raises(InvalidInput):
        world.issue(valid_until=NOW.date() - timedelta(days=30))
    with pytest.raises(InvalidInput):
        world.issue(valuation_date=NOW.date() + timedelta(days=1))
    with pytest.raises(InvalidInput):
        world.issue(signer_qualification=" ")
    with pytest.raises(InvalidInput):
        world.issue(amount=Decimal("0"))


def test_issue_is_audited_and_supersedes_the_agency_older_report(world, session):
    old = world.issue(valuation_date=date(2026, 1, 5), at=NOW - timedelta(days=5))
    new = world.issue(valuation_date=date(2026, 11, 1))
    other_type = world.issue(value_type=ValueType.LIQUIDATION)
    assert old.status is ValuationStatus.WITHDRAWN and old.superseded_by_id == new.id
    assert new.status is ValuationStatus.ISSUED and other_type.status is ValuationStatus.ISSUED
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "valuation",
                                                              AuditEntry.entity_id == str(old.id))).all()
    assert actions == ["valuation.created", "valuation.issued", "valuation.superseded"]


def test_only_a_valuer_of_an_agency_issues(world, factory, session):
    bank = factory.user(Role.BANK)
    with pytest.raises(Forbidden):
        service.create_valuation(session, bank, vinput(world.asset), NOW, issue=True)
    valuer_of_bank = factory.user(Role.VALUER, org=factory.org(OrgKind.BANK))
    with pytest.raises(Forbidden):
        service.create_valuation(session, valuer_of_bank, vinput(world.asset), NOW)


# --- conflict of interest -------------------------------------------------------------------------------------


def test_owner_tie_same_organisation_is_refused(world, session):
    own_asset = make_asset(session, world.valuer.organisation_id)
    with pytest.raises(Conflict) as exc:
        world.issue(asset=own_asset)
    assert exc.value.message == conflicts.OWNER_SAME_ORG


def test_declared_tie_with_owner_is_refused(world, session):
    conflicts.declare_conflict(session, world.valuer, tied_org_id=world.enterprise.organisation_id, asset_id=None,
                               reason="董事兼任", whole_agency=False, now=NOW)
    with pytest.raises(Conflict) as exc:
        world.issue()
    assert exc.value.message == conflicts.DECLARED_OWNER


def test_lending_bank_tie_counts_only_with_an_active_pledge(world, factory, session):
    bank_user = factory.user(Role.BANK)
    conflicts.declare_conflict(session, world.valuer, tied_org_id=bank_user.organisation_id, asset_id=None,
                               reason="本机构为该行常年评估顾问", whole_agency=True, now=NOW)
    world.issue()  # no pledge yet: allowed
    world.pledge(world.asset, bank_user)
    with pytest.raises(Conflict) as exc:
        world.issue(value_type=ValueType.LIQUIDATION)
    assert exc.value.message == conflicts.DECLARED_BANK
    colleague = factory.user(Role.VALUER, org=world.valuer.organisation)  # an agency-wide tie binds colleagues
    with pytest.raises(Conflict):
        world.issue(valuer=colleague, value_type=ValueType.LIQUIDATION)
    other_agency = factory.user(Role.VALUER)
    assert world.issue(valuer=other_agency).status is ValuationStatus.ISSUED


def test_declared_conflict_on_the_asset_and_a_draft_rechecked_at_issue(world, session):
    draft = service.create_valuation(session, world.valuer, vinput(world.asset), NOW)
    conflicts.declare_conflict(session, world.valuer, tied_org_id=None, asset_id=world.asset.id,
                               reason="曾参与该专利撰写", whole_agency=False, now=NOW)
    with pytest.raises(Conflict) as exc:
        service.issue_valuation(session, world.valuer, draft.id, NOW)
    assert exc.value.message == conflicts.DECLARED_ASSET


# --- report files ---------------------------------------------------------------------------------------------


def test_pdf_file_is_stored_under_a_random_name(world, session, uploads):
    v = service.create_valuation(session, world.valuer, vinput(world.asset), NOW,
                                 report=service.ReportFile(PDF, "报告.pdf", uploads))
    stored = uploads / f"{v.file_key}.pdf"
    assert stored.read_bytes() == PDF and len(v.file_key) == 32 and v.file_name == "报告.pdf"


@pytest.mark.parametrize("data, name", [(PNG, "report.pdf"), (PDF, "report.png"), (b"", "empty.pdf"),
                                        (b"%PDF-" + b"0" * (6 * 1024 * 1024), "big.pdf")])
def test_bad_report_files_are_refused_and_nothing_is_written(world, session, uploads, data, name):
    with pytest.raises(InvalidInput):
        service.create_valuation(session, world.valuer, vinput(world.asset), NOW,
                                 report=service.ReportFile(data, name, uploads))
    assert not uploads.exists() or not any(uploads.iterdir())


# --- reading --------------------------------------------------------------------------------------------------


def test_latest_valuation_chooses_by_date_and_type(world, factory, session):
    other = factory.user(Role.VALUER)
    early = world.issue(valuation_date=date(2026, 1, 10), amount=Decimal("900000"))
    later = world.issue(valuer=other, valuation_date=date(2026, 6, 1), amount=Decimal("1100000"))
    liquid = world.issue(value_type=ValueType.LIQUIDATION, valuation_date=date(2026, 9, 1))
    assert service.latest_valuation(session, world.asset.id, date(2026, 2, 1)) == early
    assert service.latest_valuation(session, world.asset.id, date(2026, 7, 1)) == later
    assert service.latest_valuation(session, world.asset.id, date(2026, 10, 1)) == liquid
    assert service.latest_valuation(session, world.asset.id, date(2026, 10, 1),
                                    value_types=[ValueType.MARKET, ValueType.IN_USE]) == later
    assert service.latest_valuation(session, world.asset.id, date(2025, 12, 31)) is None
    assert service.latest_valuation(session, world.asset.id, date(2027, 9, 2)) is None  # all expired
    service.withdraw_valuation(session, other, later.id, "数据有误", NOW)
    assert service.latest_valuation(session, world.asset.id, date(2026, 12, 1),
                                    value_types=[ValueType.MARKET]) == early
    assert [v.id for v in service.valuations_for_asset(session, world.asset.id)] == [liquid.id, later.id, early.id]


def test_visibility_of_reports(world, factory, session):
    draft = service.create_valuation(session, world.valuer, vinput(world.asset), NOW)
    issued = world.issue(value_type=ValueType.IN_USE)
    owner, bank, stranger = world.enterprise, factory.user(Role.BANK), factory.user(Role.ENTERPRISE)
    assert not service.can_view(owner, draft) and service.can_view(world.valuer, draft)
    assert service.can_view(owner, issued) and service.can_view(bank, issued)
    assert not service.can_view(stranger, issued) and not service.can_view(factory.user(Role.BIDDER), issued)
    assert service.visible_valuations(session, stranger, world.asset.id) == []


def test_accuracy_on_a_sold_lot(world, factory, session):
    from market.exchange import bidding, clock, deposits, listings
    from market.exchange.models import ListingSource, ListingStatus

    world.issue(amount=Decimal("800000"), at=NOW - timedelta(days=60), valuation_date=date(2026, 9, 1))
    staff, bank = factory.user(Role.STAFF), factory.user(Role.BANK)
    start = NOW
    notice = start - timedelta(days=30)
    lot = listings.create_listing(
        session, bank, asset_id=world.asset.id, source=ListingSource.DEFAULT, valuation=Decimal("800000"),
        starting_price=Decimal("560000"), increment=Decimal("10000"), deposit_amount=Decimal("56000"),
        notice_starts_at=notice, bidding_starts_at=start, ends_at=start + timedelta(hours=24),
        now=notice - timedelta(days=5))
    listings.submit_listing(session, bank, lot, notice - timedelta(days=4))
    listings.review_listing(session, staff, lot, {k: True for k in listings.CHECKLIST}, True,
                            notice - timedelta(days=3))
    # A report issued after the listing must not be the one compared.
    world.issue(valuer=factory.user(Role.VALUER), amount=Decimal("5000000"), at=NOW - timedelta(days=1))
    clock.tick(session, start)
    bidder = factory.user(Role.BIDDER)
    deposits.pay_deposit(session, bidder, lot, start)
    bidding.place_bid(session, bidder, lot.id, Decimal("640000"), start + timedelta(minutes=5))
    clock.tick(session, lot.ends_at)
    assert lot.status is ListingStatus.SOLD and lot.sale_price == Decimal("640000")
    rows = [r for r in valuer_accuracy(session) if r.valuer_id == world.valuer.id]
    assert len(rows) == 1
    row = rows[0]
    assert (row.n, row.mean_abs_error, row.mean_abs_pct_error) == (1, Decimal("0.2500"), Decimal("25.00"))
    assert row.agency == world.valuer.organisation.name
    report = session.scalars(select(Valuation).where(Valuation.asset_id == world.asset.id)
                             .order_by(Valuation.id)).first()
    assert row.valuer.startswith(report.signer_name) and row.valuer != world.valuer.name  # the signer, not the login
