"""The listing state machine (re-auction and fixed-price sale are new listings linked by `previous_id`)."""

from market.exchange.models import ListingStatus as S
from market.states import StateMachine

LISTING = StateMachine("listing", {
    S.DRAFT: [S.UNDER_REVIEW, S.CANCELLED],
    S.UNDER_REVIEW: [S.ANNOUNCED, S.DRAFT, S.CANCELLED],
    S.ANNOUNCED: [S.BIDDING, S.CANCELLED],
    S.BIDDING: [S.SOLD, S.FAILED, S.CANCELLED],
    S.SOLD: [S.SETTLED, S.UNPAID],
    S.FAILED: [],
    S.UNPAID: [],
    S.SETTLED: [],
    S.CANCELLED: [],
})
