"""The need, docking and offer state machines: allowed and refused transitions."""

from __future__ import annotations

import pytest

from market.errors import InvalidTransition
from market.needs.models import ClaimStatus, NeedStatus, OfferStatus
from market.needs.states import CLAIM_STATES, NEED_STATES, OFFER_STATES

S = NeedStatus


@pytest.mark.parametrize("src,dst", [
    (S.DRAFT, S.SUBMITTED), (S.SUBMITTED, S.PUBLISHED), (S.SUBMITTED, S.REJECTED), (S.REJECTED, S.SUBMITTED),
    (S.PUBLISHED, S.IN_TALKS), (S.IN_TALKS, S.FUNDED), (S.FUNDED, S.CLOSED), (S.PUBLISHED, S.EXPIRED),
    (S.DRAFT, S.WITHDRAWN), (S.IN_TALKS, S.WITHDRAWN),
])
def test_allowed_need_transitions(src, dst):
    NEED_STATES.check(src, dst)


@pytest.mark.parametrize("src,dst", [
    (S.DRAFT, S.PUBLISHED), (S.REJECTED, S.PUBLISHED), (S.PUBLISHED, S.DRAFT), (S.FUNDED, S.PUBLISHED),
    (S.WITHDRAWN, S.SUBMITTED), (S.CLOSED, S.PUBLISHED), (S.EXPIRED, S.PUBLISHED), (S.DRAFT, S.FUNDED),
    (S.SUBMITTED, S.IN_TALKS),
])
def test_refused_need_transitions(src, dst):
    with pytest.raises(InvalidTransition):
        NEED_STATES.check(src, dst)


def test_terminal_states_have_no_way_out():
    for terminal in (S.WITHDRAWN, S.EXPIRED, S.CLOSED):
        assert not any(NEED_STATES.allowed(terminal, dst) for dst in S)


def test_docking_and_offer_machines():
    C = ClaimStatus
    assert CLAIM_STATES.allowed(C.INTEREST, C.MEETING) and CLAIM_STATES.allowed(C.MEETING, C.OFFER)
    assert CLAIM_STATES.allowed(C.OFFER, C.ACCEPTED) and CLAIM_STATES.allowed(C.OFFER, C.DECLINED)
    assert not CLAIM_STATES.allowed(C.INTEREST, C.ACCEPTED)
    assert not CLAIM_STATES.allowed(C.ACCEPTED, C.DECLINED)
    assert OFFER_STATES.allowed(OfferStatus.PENDING, OfferStatus.ACCEPTED)
    assert not OFFER_STATES.allowed(OfferStatus.DECLINED, OfferStatus.ACCEPTED)
