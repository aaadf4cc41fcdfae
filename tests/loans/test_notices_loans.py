"""Loans tell the enterprise when its loan is overdue or declared in default, and the bank how staff decided its
compensation claim; the flag reason in a notice is a label, never a raw code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from market.accounts.models import Role
from market.ip.models import LegalStatus
from market.loans import claims, default, watch
from market.notices.service import notices_for, text_of, todos_for
from tests.conftest import NOW


def _texts(session, user):
    return [n.msgid % n.params for n in notices_for(session, user)]


def test_overdue_default_and_claim_decisions_are_told(world, factory):
    s = world.session
    owner = factory.user(Role.ENTERPRISE, org=world.enterprise)
    loan = world.loan(principal="1200000", rate="0.06", term=2)
    watch.tick(s, date(2016, 4, 2), NOW)
    assert any(f"Your loan {loan.id} is overdue" in t for t in _texts(s, owner))
    assert any(t.url == f"/loans/{loan.id}" and t.late for t in todos_for(s, owner, NOW))
    assert any(t.url == f"/loans/{loan.id}" for t in todos_for(s, world.bank_user, NOW))
    default.declare_default(s, world.bank_user, loan.id, NOW, reason="逾期未还")
    assert any(f"declared your loan {loan.id} in default" in t for t in _texts(s, owner))

    claim = claims.assemble_claim(s, loan, D("0"), NOW)
    assert any(t.text.endswith(str(loan.id)) for t in todos_for(s, world.staff, NOW))
    claims.reject_claim(s, world.staff, claim.id, NOW, reason="材料不全")
    assert any(f"claim for loan {loan.id} was rejected" in t for t in _texts(s, world.bank_user))
    assert not any(t.text.endswith(str(loan.id)) for t in todos_for(s, world.staff, NOW))

    other = world.loan()
    default.declare_default(s, world.bank_user, other.id, NOW, reason="逾期未还")
    second = claims.assemble_claim(s, other, D("0"), NOW)
    claims.approve_claim(s, world.staff, second.id, NOW)
    assert any(f"claim for loan {other.id} was approved" in t for t in _texts(s, world.bank_user))


def test_a_flag_reason_is_a_label_in_the_notice(world, app):
    asset = world.asset()
    world.loan(assets=[asset])
    asset.legal_status = LegalStatus.LAPSED
    world.session.flush()
    watch.tick(world.session, date(2016, 3, 2), NOW)
    notice = notices_for(world.session, world.bank_user)[0]
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("zh_CN"):
            shown = text_of(notice)
    assert "（因未缴年费失效）" in shown and "lapsed" not in shown
    assert notice.params["reason"] == "lapsed"
