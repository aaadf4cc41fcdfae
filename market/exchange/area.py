"""The IP exchange: disposal listings of defaulted pledges and voluntary transfers, deposits, online auctions."""

from market.exchange import models  # noqa: F401

ORDER = 60
