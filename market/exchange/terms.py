"""Which version of a lot's announcement (拍卖公告) and bidder terms (竞买须知) a bidder accepts with the deposit.

The texts are the templates `exchange/_announcement.html` and `exchange/_bidder_terms.html`, filled from the listing;
the rules they state are `rules.RULES_VERSION`. Change TEXT_VERSION whenever either template's wording changes, so a
deposit always names the text its bidder was shown.
"""

from __future__ import annotations

TEXT_VERSION = "2026-12"


def terms_version(listing) -> str:
    """E.g. "terms-2026-12/spc-online-judicial-auction-2016/round-1"."""
    return f"terms-{TEXT_VERSION}/{listing.rules_version}/round-{listing.round}"
