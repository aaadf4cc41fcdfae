"""Every party is told (a notice at each docking event) and sees what waits for it (the workspace to-do list, with
working days left where the docking rules set a time)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from market.accounts.models import Role
from market.db import utcnow
from market.needs import docking
from market.needs.rules import working_days_left
from market.notices.models import Notice
from market.notices.service import notices_for, text_of, todos_for, unread_count
from tests.conftest import NOW, login
from tests.factories import make_asset


def _texts(session, user):
    return [n.msgid % n.params for n in notices_for(session, user)]


def test_claim_and_offer_tell_the_enterprise(session, factory, kit):
    enterprise = kit.enterprise()
    need = kit.published_need(enterprise)
    bank = factory.user(Role.BANK)
    before = unread_count(session, enterprise)
    docking.claim_need(session, bank, need.id, NOW)
    docking.make_offer(session, bank, need.id, Decimal("2000000"), Decimal("0.05"), 12, NOW)
    texts = _texts(session, enterprise)
    name = bank.organisation.name
    assert f"{name} is interested in your financing need “{need.title}”." in texts
    assert f"{name} made an offer on your financing need “{need.title}”: answer it." in texts
    assert unread_count(session, enterprise) == before + 2
    # The enterprise's to-do list holds the offer, with the working days it has left to answer.
    todos = todos_for(session, enterprise, NOW)
    offer_todo = next(t for t in todos if name in t.text)
    assert offer_todo.url == f"/needs/{need.id}"
    assert offer_todo.working_days_left == 5 and not offer_todo.late


def test_accept_and_decline_tell_the_bank(session, factory, kit):
    enterprise = kit.enterprise()
    need = kit.published_need(enterprise)
    first, second = factory.user(Role.BANK), factory.user(Role.BANK)
    one = docking.make_offer(session, first, need.id, Decimal("2000000"), Decimal("0.05"), 12, NOW)
    two = docking.make_offer(session, second, need.id, Decimal("2500000"), Decimal("0.05"), 12, NOW)
    docking.decline_offer(session, enterprise, two.id, NOW)
    docking.accept_offer(session, enterprise, one.id, NOW)
    assert f"The enterprise declined your offer on “{need.title}”." in _texts(session, second)
    assert any("accepted your offer" in t for t in _texts(session, first))
    # The accepted offer now waits on the first bank: sign the loan.
    assert any(t.url == f"/loans/from-offer/{one.id}" for t in todos_for(session, first, NOW))


def test_bank_and_staff_see_the_response_timer_and_the_escalation(session, factory, kit):
    need = kit.published_need()
    bank, staff = factory.user(Role.BANK), factory.user(Role.STAFF)
    kit.product(bank)
    todo = next(t for t in todos_for(session, bank, NOW) if t.url == f"/needs/{need.id}")
    assert todo.working_days_left == 5
    later = NOW + timedelta(days=14)
    escalated = docking.escalate_needs(session, later)
    assert need in escalated
    assert any(need.title in t and "within 5 working days" in t for t in _texts(session, staff))
    staff_todo = next(t for t in todos_for(session, staff, later) if t.url == f"/needs/{need.id}")
    assert staff_todo.late and staff_todo.working_days_left < 0
    assert next(t for t in todos_for(session, bank, later) if t.url == f"/needs/{need.id}").late


def test_a_bank_is_asked_to_answer_only_the_needs_its_products_fit(session, factory, kit):
    """The bank's to-do list holds the unanswered needs one of its active products could lend to (amount, term, rate,
    IP kinds, industry), and those that name it as a preferred bank; not every need in the market."""
    bank, other = factory.user(Role.BANK), factory.user(Role.BANK)
    kit.product(bank)  # 0.5–10 million, 6–36 months, inventions and utility models
    fits = kit.published_need(title="合适的需求")
    too_big = kit.published_need(title="金额过大", amount=Decimal("50000000.00"))
    too_short = kit.published_need(title="期限过短", term_months=3)
    addressed = kit.published_need(title="指定银行", amount=Decimal("50000000.00"),
                                   preferred_bank_ids=[bank.organisation_id])
    kit.product(other, min_amount=Decimal("20000000"), max_amount=Decimal("90000000"))
    mine = {t.url for t in todos_for(session, bank, NOW)}
    assert f"/needs/{fits.id}" in mine and f"/needs/{addressed.id}" in mine
    assert f"/needs/{too_big.id}" not in mine and f"/needs/{too_short.id}" not in mine
    theirs = {t.url for t in todos_for(session, other, NOW)}
    assert f"/needs/{too_big.id}" in theirs and f"/needs/{fits.id}" not in theirs
    # A bank without an active product is asked only for needs addressed to it.
    assert not {t.url for t in todos_for(session, factory.user(Role.BANK), NOW)} & {
        f"/needs/{n.id}" for n in (fits, too_big, too_short, addressed)}
    # Once a bank answered a need, it waits on no bank as an unanswered need.
    docking.claim_need(session, other, too_big.id, NOW)
    assert f"/needs/{too_big.id}" not in {t.url for t in todos_for(session, other, NOW) if "before it is" in t.text}


def test_working_days_left_counts_weekdays():
    friday = NOW.replace(day=27)  # 2026-11-27 is a Friday
    assert friday.weekday() == 4
    assert working_days_left(friday, friday + timedelta(days=3)) == 1  # Monday
    assert working_days_left(friday, friday + timedelta(hours=2)) == 0
    assert working_days_left(friday + timedelta(days=3), friday) == -1
    assert working_days_left(friday, friday - timedelta(hours=1)) == -1


def test_review_tells_the_enterprise_and_names_the_missing_checks(session, factory, kit, app):
    from market.errors import InvalidInput
    from market.needs import service

    enterprise = kit.enterprise()
    need = kit.published_need(enterprise)
    assert f"Your financing need “{need.title}” was published." in _texts(session, enterprise)
    asset = make_asset(kit.session, enterprise.organisation)
    draft = service.create_need(session, enterprise, kit.data([asset]), NOW, submit=True)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        try:
            service.review_need(session, factory.user(Role.STAFF), draft.id, True, {"identity": True}, None, NOW)
        except InvalidInput as exc:
            message = exc.localized()
        else:
            raise AssertionError("publishing without every tick must fail")
    assert "assets" not in message and "terms" not in message and "purpose" not in message


def test_header_count_notice_page_and_workspace(client, session, factory, kit):
    enterprise = kit.enterprise()
    need = kit.published_need(enterprise)
    bank = factory.user(Role.BANK)
    offered_at = utcnow().replace(hour=1, minute=30)  # the app's clock: the workspace counts from it
    docking.make_offer(session, bank, need.id, Decimal("2000000"), Decimal("0.05"), 12, offered_at)
    session.commit()
    login(client, enterprise)
    count = unread_count(session, enterprise)
    html = client.get("/workspace").get_data(as_text=True)
    assert f'<span class="badge">{count}</span>' in html
    assert 'data-test="todo"' in html and bank.organisation.name in html
    assert "剩余" in html  # working days left, in Chinese
    page = client.get("/notices/").get_data(as_text=True)
    assert "提出了报价" in page
    # Beijing time: the notice created at 01:30 UTC shows 09:30.
    assert "09:30" in page or "9:30" in page
    notice = session.scalars(select(Notice).where(Notice.recipient_org_id == enterprise.organisation_id)).first()
    assert "made an offer" in notice.msgid or "interested" in notice.msgid or "published" in notice.msgid
    client.post("/notices/read-all")
    assert unread_count(session, enterprise) == 0
    assert '<span class="badge">' not in client.get("/notices/").get_data(as_text=True).split("</header>")[0]
    assert text_of(notice)
