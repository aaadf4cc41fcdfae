"""Posting, moderation, refusals with nothing half-written, visibility, docking and escalation (service level)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import OrgStatus, Role
from market.audit.models import AuditEntry
from market.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from market.ip.models import IpKind, LegalStatus, PledgeState
from market.needs import docking, service
from market.needs.models import ClaimStatus, Need, NeedAsset, NeedStatus, OfferStatus
from market.needs.rules import add_working_days
from tests.conftest import NOW
from tests.factories import all_ticks, make_asset


def counts(session):
    return (session.scalar(select(func.count()).select_from(Need)),
            session.scalar(select(func.count()).select_from(NeedAsset)),
            session.scalar(select(func.count()).select_from(AuditEntry)))


def test_post_submit_publish_classifies_and_audits(session, kit, factory):
    ent = kit.enterprise()
    a1 = make_asset(kit.session, ent.organisation, ipc=("H01M10/0525",))
    a2 = make_asset(kit.session, ent.organisation, kind=IpKind.UTILITY_MODEL, ipc=("B60L11/18",))
    need = service.create_need(session, ent, kit.data([a1, a2]), NOW)
    assert need.status is NeedStatus.DRAFT
    service.submit_need(session, ent, need.id, NOW)
    staff = factory.user(Role.STAFF)
    service.review_need(session, staff, need.id, True, all_ticks(), None, NOW)
    assert need.status is NeedStatus.PUBLISHED and need.published_at == NOW
    assert need.ip_kinds == ["invention", "utility_model"]
    assert need.ipc_sections == ["B", "H"] and need.ipc_classes == ["B60", "H01"]
    assert need.industry_code == "3841" and "pillar_equipment" in need.group_codes
    assert need.amount_band == "1m-5m" and need.district_code == "500112"
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "need",
                                                              AuditEntry.entity_id == str(need.id))).all()
    assert actions == ["need.created", "need.submitted", "need.published"]


def test_reject_with_reason_then_fix_and_resubmit(session, kit, factory):
    ent = kit.enterprise()
    asset = make_asset(kit.session, ent.organisation)
    staff = factory.user(Role.STAFF)
    need = service.create_need(session, ent, kit.data([asset]), NOW, submit=True)
    with pytest.raises(InvalidInput):
        service.review_need(session, staff, need.id, False, {}, "  ", NOW)
    with pytest.raises(InvalidInput):
        service.review_need(session, staff, need.id, True, {"identity": True}, None, NOW)
    service.review_need(session, staff, need.id, False, {"identity": True}, "用途描述不清", NOW)
    assert need.status is NeedStatus.REJECTED and need.rejection_reason == "用途描述不清"
    service.update_need(session, ent, need.id, kit.data([asset], purpose="购置两台涂布机，扩产 2GWh"), NOW)
    service.submit_need(session, ent, need.id, NOW)
    service.review_need(session, staff, need.id, True, all_ticks(), None, NOW)
    assert need.status is NeedStatus.PUBLISHED and need.rejection_reason is None


@pytest.mark.parametrize("case,error", [
    ("other_org", Forbidden), ("trademark", InvalidInput), ("pledged", Conflict), ("in_disposal", Conflict),
    ("frozen", Conflict), ("lapsed", InvalidInput), ("nothing", InvalidInput), ("unknown", Forbidden),
])
def test_asset_refusals_leave_nothing_written(session, kit, factory, case, error):
    ent = kit.enterprise()
    good = make_asset(kit.session, ent.organisation)
    other = factory.org("enterprise")
    bad = {
        "other_org": lambda: make_asset(kit.session, other),
        "trademark": lambda: make_asset(kit.session, ent.organisation, kind=IpKind.TRADEMARK),
        "pledged": lambda: make_asset(kit.session, ent.organisation, pledge_state=PledgeState.PLEDGED),
        "in_disposal": lambda: make_asset(kit.session, ent.organisation, pledge_state=PledgeState.IN_DISPOSAL),
        "frozen": lambda: make_asset(kit.session, ent.organisation, frozen=True),
        "lapsed": lambda: make_asset(kit.session, ent.organisation, status=LegalStatus.LAPSED),
        "nothing": lambda: None,
        "unknown": lambda: None,
    }[case]()
    ids = [] if case == "nothing" else [good.id, bad.id if bad else 999999]
    before = counts(session)
    with pytest.raises(error):
        service.create_need(session, ent, kit.data([], asset_ids=ids), NOW)
    assert counts(session) == before


def test_an_asset_is_offered_by_one_open_need_at_a_time(session, kit):
    ent = kit.enterprise()
    asset = make_asset(kit.session, ent.organisation)
    service.create_need(session, ent, kit.data([asset]), NOW)
    before = counts(session)
    with pytest.raises(Conflict, match="already offered"):
        service.create_need(session, ent, kit.data([asset]), NOW)
    assert counts(session) == before


def test_unverified_enterprise_and_banks_cannot_post(session, kit, factory):
    pending = factory.org("enterprise", status=OrgStatus.PENDING)
    ent = factory.user(Role.ENTERPRISE, org=pending)
    asset = make_asset(kit.session, pending)
    with pytest.raises(Forbidden):
        service.create_need(session, ent, kit.data([asset]), NOW)
    with pytest.raises(Forbidden):
        service.create_need(session, factory.user(Role.BANK), kit.data([asset]), NOW)


def test_bank_never_sees_unpublished_needs(session, kit, factory):
    ent = kit.enterprise()
    need = service.create_need(session, ent, kit.data([make_asset(kit.session, ent.organisation)]), NOW)
    bank = factory.user(Role.BANK)
    other_ent = kit.enterprise()
    for who in (bank, other_ent, None):
        with pytest.raises(NotFound):
            service.visible_need(session, who, need.id)
    with pytest.raises(NotFound):
        service.submit_need(session, other_ent, need.id, NOW)
    assert service.visible_need(session, ent, need.id) is need
    assert service.visible_need(session, factory.user(Role.STAFF), need.id) is need
    with pytest.raises(NotFound):
        docking.claim_need(session, bank, need.id, NOW)


def test_docking_story_and_accepting_one_offer_declines_the_others(session, kit, factory):
    ent = kit.enterprise()
    need = kit.published_need(ent)
    bank1, bank2 = factory.user(Role.BANK), factory.user(Role.BANK)
    product = kit.product(bank1)
    claim1 = docking.claim_need(session, bank1, need.id, NOW, product_id=product.id)
    assert need.status is NeedStatus.IN_TALKS and need.first_response_at == NOW
    with pytest.raises(Conflict):
        docking.claim_need(session, bank1, need.id, NOW)
    docking.schedule_meeting(session, bank1, need.id, datetime(2026, 12, 2, 10), NOW)
    assert claim1.status is ClaimStatus.MEETING
    offer1 = docking.make_offer(session, bank1, need.id, Decimal("3000000"), Decimal("0.0520"), 12, NOW)
    offer2 = docking.make_offer(session, bank2, need.id, Decimal("2500000"), Decimal("0.0480"), 12, NOW)
    assert offer1.product_id == product.id and claim1.status is ClaimStatus.OFFER
    with pytest.raises(NotFound):
        docking.accept_offer(session, kit.enterprise(), offer1.id, NOW)
    docking.accept_offer(session, ent, offer2.id, NOW)
    assert offer2.status is OfferStatus.ACCEPTED and offer1.status is OfferStatus.DECLINED
    assert claim1.status is ClaimStatus.DECLINED
    assert need.status is NeedStatus.IN_TALKS and need.accepted_offer is offer2
    with pytest.raises(InvalidTransition):
        docking.accept_offer(session, ent, offer1.id, NOW)
    with pytest.raises(Conflict):
        docking.make_offer(session, factory.user(Role.BANK), need.id, Decimal("1000000"), Decimal("0.05"), 12, NOW)


def test_withdrawing_a_need_closes_its_docking(session, kit, factory):
    ent = kit.enterprise()
    need = kit.published_need(ent)
    bank = factory.user(Role.BANK)
    offer = docking.make_offer(session, bank, need.id, Decimal("1000000"), Decimal("0.05"), 12, NOW)
    service.withdraw_need(session, ent, need.id, NOW)
    assert need.status is NeedStatus.WITHDRAWN and offer.status is OfferStatus.WITHDRAWN
    # Its assets are free to be offered again.
    service.create_need(session, ent, kit.data([], asset_ids=need.asset_ids), NOW)


def test_working_days_skip_weekends():
    friday = datetime(2026, 11, 27, 16, 0)
    assert add_working_days(friday, 1) == datetime(2026, 11, 30, 16, 0)  # Monday
    assert add_working_days(friday, 5) == datetime(2026, 12, 4, 16, 0)  # next Friday
    assert add_working_days(datetime(2026, 11, 28, 9), 1) == datetime(2026, 11, 30, 9)  # Saturday → Monday


def test_escalation_after_five_working_days_once(session, kit, factory):
    friday = datetime(2026, 11, 27, 16, 0)
    ent = kit.enterprise()
    staff = factory.user(Role.STAFF)
    need = service.create_need(session, ent, kit.data([make_asset(kit.session, ent.organisation)]), friday, submit=True)
    service.review_need(session, staff, need.id, True, all_ticks(), None, friday)
    answered = kit.published_need()
    answered.published_at = friday
    docking.claim_need(session, factory.user(Role.BANK), answered.id, friday)
    assert docking.escalate_needs(session, datetime(2026, 12, 4, 15, 59)) == []  # 4 working days + 23:59
    assert docking.escalate_needs(session, datetime(2026, 12, 4, 16, 0)) == [need]
    assert need.escalated_at == datetime(2026, 12, 4, 16, 0)
    assert docking.escalate_needs(session, datetime(2026, 12, 10)) == []
    assert docking.escalated_needs(session) == [need]
    assert docking.escalate_needs(session, datetime(2026, 12, 1), working_days=1) == []  # already escalated
