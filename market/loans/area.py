"""Loans: the policy engine and plan calculator, loans with pledges, repayments, post-loan monitoring,
compensation claims and the fund ledger."""

from market.loans import models  # noqa: F401

ORDER = 40
