"""The state machines of valuations: a report (draft → issued → withdrawn) and a consultation (requested →
answered → closed). Every change of state goes through `MACHINE.move` (check, snapshot, set, flush, audit)."""

from __future__ import annotations

from market.states import StateMachine
from market.valuations.models import ConsultationStatus, ValuationStatus

VALUATION_FIELDS = ["asset_id", "agency_org_id", "valuer_id", "value_type", "amount", "valuation_date",
                    "valid_until", "method", "signer_name", "signer_qualification", "status", "file_key",
                    "superseded_by_id"]
CONSULTATION_FIELDS = ["org_id", "need_id", "asset_id", "expert_id", "matched", "status", "suggested_amount",
                       "suggested_term_months", "suggested_value_type"]

VALUATION = StateMachine("valuation", {
    ValuationStatus.DRAFT: {ValuationStatus.ISSUED},
    ValuationStatus.ISSUED: {ValuationStatus.WITHDRAWN},
}, fields=VALUATION_FIELDS)

CONSULTATION = StateMachine("consultation", {
    ConsultationStatus.REQUESTED: {ConsultationStatus.ANSWERED, ConsultationStatus.CLOSED},
    ConsultationStatus.ANSWERED: {ConsultationStatus.CLOSED},
}, fields=CONSULTATION_FIELDS)
