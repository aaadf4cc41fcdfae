"""The IP asset registry and patent search for banks."""

from market.ip import models  # noqa: F401

ORDER = 20
