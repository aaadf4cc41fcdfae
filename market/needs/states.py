"""The state machines of the needs area: a financing need, a bank's docking record (claim) on it, and an offer.
Every state change goes through one of them (`MACHINE.move`: check, snapshot, set, flush, audit)."""

from __future__ import annotations

from market.needs.models import ClaimStatus, NeedStatus, OfferStatus
from market.states import StateMachine

S = NeedStatus
NEED_FIELDS = ["status", "amount", "term_months", "max_rate", "rejection_reason", "escalated_at"]
NEED_STATES = StateMachine("financing need", {
    S.DRAFT: [S.SUBMITTED, S.WITHDRAWN],
    S.SUBMITTED: [S.PUBLISHED, S.REJECTED, S.WITHDRAWN],
    S.REJECTED: [S.SUBMITTED, S.WITHDRAWN],
    S.PUBLISHED: [S.IN_TALKS, S.WITHDRAWN, S.EXPIRED, S.CLOSED],
    S.IN_TALKS: [S.FUNDED, S.WITHDRAWN, S.CLOSED],
    S.FUNDED: [S.CLOSED],
}, entity_type="need", fields=NEED_FIELDS)

C = ClaimStatus
CLAIM_FIELDS = ["status", "product_id", "meeting_at"]
CLAIM_STATES = StateMachine("docking record", {
    C.INTEREST: [C.MEETING, C.OFFER, C.WITHDRAWN, C.DECLINED],
    C.MEETING: [C.OFFER, C.WITHDRAWN, C.DECLINED],
    C.OFFER: [C.ACCEPTED, C.DECLINED, C.WITHDRAWN],
}, entity_type="need_claim", fields=CLAIM_FIELDS, action_prefix="claim")

OS = OfferStatus
OFFER_FIELDS = ["status", "amount", "annual_rate", "term_months", "decided_at"]
OFFER_STATES = StateMachine("offer", {OS.PENDING: [OS.ACCEPTED, OS.DECLINED, OS.WITHDRAWN]},
                            entity_type="need_offer", fields=OFFER_FIELDS, stamp="decided_at", action_prefix="offer")
