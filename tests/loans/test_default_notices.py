"""A default says who did what (#16): when the bank asked and exchange staff confirmed, no notice says the bank
declared it; the bank hears staff's decision either way."""

from __future__ import annotations

from market.accounts.models import Role
from market.loans import default
from market.notices.service import notices_for
from tests.conftest import NOW


def _texts(session, user):
    return [n.msgid % n.params for n in notices_for(session, user)]


def test_a_default_confirmed_by_staff_is_told_as_staff_confirming_the_banks_request(world, factory):
    s = world.session
    owner = factory.user(Role.ENTERPRISE, org=world.enterprise)
    loan = world.loan()
    default.request_default(s, world.bank_user, loan.id, NOW, reason="企业主失联")
    default.confirm_default(s, world.staff, loan.id, NOW, reason="核实停产")
    told = _texts(s, owner) + _texts(s, world.staff) + _texts(s, world.bank_user)
    assert not [t for t in told if "bank declared" in t]
    assert any(f"exchange staff confirmed that your loan {loan.id} is in default" in t for t in _texts(s, owner))
    assert any(f"confirmed the default of loan {loan.id} that the bank asked for" in t for t in _texts(s, world.staff))
    assert any(f"confirmed the default you asked for on loan {loan.id}" in t for t in _texts(s, world.bank_user))


def test_a_refused_default_request_is_told_to_the_bank_with_the_reason(world):
    s = world.session
    loan = world.loan()
    default.request_default(s, world.bank_user, loan.id, NOW, reason="企业主失联")
    default.refuse_default(s, world.staff, loan.id, NOW, reason="企业仍在正常还款")
    assert any(f"refused the default you asked for on loan {loan.id}: 企业仍在正常还款" in t
               for t in _texts(s, world.bank_user))
