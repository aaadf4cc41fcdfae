"""The listing state machine (re-auction and fixed-price sale are new listings linked by `previous_id`) and the
fields each audit entry of a listing keeps."""

from market.exchange.models import ListingStatus as S
from market.states import StateMachine

FIELDS = ["status", "round", "starting_price", "current_price", "bid_count", "notice_starts_at", "bidding_starts_at",
          "ends_at", "winner_id", "sale_price", "payment_due_at", "paid_at"]

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
}, fields=FIELDS)
