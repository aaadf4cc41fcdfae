"""Policy: the versioned financing policy, the reference-rate table and the plan calculator's rules."""

from market.policy import models  # noqa: F401
from market.policy.labels import init_app  # noqa: F401

ORDER = 15  # before ip (20): every later area judges by the policy in force
