"""The pure matching score, its reasons, and browsing with facet counts."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace as NS

from market.accounts.models import Role
from market.ip.models import IpKind
from market.needs import browse, matching
from tests.factories import make_asset


def need(**over):
    base = dict(id=1, amount=Decimal("3000000"), term_months=12, max_rate=Decimal("0.06"),
                ip_kinds=["invention", "utility_model"], industry_code="3841",
                group_codes=["pillar_equipment", "sei_nev"], preferred_bank_ids=[])
    base.update(over)
    return NS(**base)


def product(**over):
    base = dict(id=10, bank_org_id=100, min_amount=Decimal("1000000"), max_amount=Decimal("5000000"),
                min_term_months=6, max_term_months=24, min_rate=Decimal("0.0435"), max_rate=Decimal("0.058"),
                accepted_kinds=["invention", "utility_model"], target_industries=[], target_groups=[])
    base.update(over)
    return NS(**base)


def test_a_perfect_fit_explains_every_criterion():
    match = matching.score(need(preferred_bank_ids=[100]), product())
    assert match.score == 100 and not match.misses
    assert [r.criterion for r in match.reasons] == ["amount", "term", "rate", "ip_kinds", "industry",
                                                    "preferred_bank"]


def test_each_miss_costs_its_weight_and_says_why():
    match = matching.score(need(amount=Decimal("8000000"), term_months=36, max_rate=Decimal("0.04"),
                                preferred_bank_ids=[999]),
                           product(accepted_kinds=["invention"], target_industries=["39"]))
    misses = {r.criterion: r for r in match.misses}
    assert set(misses) == {"amount", "term", "rate", "ip_kinds", "industry", "preferred_bank"}
    assert misses["ip_kinds"].points == 10  # half the kinds accepted: half the weight
    assert match.score == 10
    assert "outside" in misses["amount"].message


def test_group_targeting_and_ranking():
    by_group = product(id=11, target_groups=["sei_nev"])
    elsewhere = product(id=12, target_industries=["39"])
    cheaper = product(id=13, min_rate=Decimal("0.04"))
    ranked = matching.rank_products(need(), [elsewhere, by_group, cheaper])
    assert [m.product_id for m in ranked] == [13, 11, 12]
    assert matching.score(need(), by_group).fits[4].criterion == "industry"
    best = matching.rank_needs([need(id=1, amount=Decimal("9000000")), need(id=2)], [by_group])
    assert [m.need_id for m in best] == [2, 1]


def test_browse_filters_and_counts(session, kit, factory):
    ent_a = factory.user(Role.ENTERPRISE, org=factory.org("enterprise", industry_code="3841"))
    ent_b = factory.user(Role.ENTERPRISE, org=factory.org("enterprise", industry_code="3911",
                                                          district_code="500103"))
    a = kit.published_need(ent_a, amount=Decimal("800000"))
    b = kit.published_need(ent_b)
    kit.session.flush()
    draft_owner = kit.enterprise()
    from market.needs import service
    from tests.conftest import NOW

    service.create_need(session, draft_owner, kit.data([make_asset(kit.session, draft_owner.organisation,
                                                                  kind=IpKind.DESIGN)]), NOW)
    result = browse.browse_needs(session, {})
    ids = {n.id for n in result.items}
    assert {a.id, b.id} <= ids
    result = browse.browse_needs(session, {"industry": "39"})
    assert [n.id for n in result.items if n.id in (a.id, b.id)] == [b.id]
    industries = dict(result.facets["industry"])
    assert industries["38"] >= 1 and industries["39"] >= 1  # the industry facet ignores its own filter
    assert dict(browse.browse_needs(session, {"amount_band": "lt1m"}).facets["amount_band"])["lt1m"] >= 1
    assert b.id in {n.id for n in browse.browse_needs(session, {"district": "500103"}).items}
    assert a.id not in {n.id for n in browse.browse_needs(session, {"district": "500103"}).items}
    assert a.id in {n.id for n in browse.browse_needs(session, {"ipc_section": "H"}).items}
    assert all("design" not in n.ip_kinds for n in browse.browse_needs(session, {}).items)
    assert a.id in {n.id for n in browse.browse_needs(session, {"group": "sei_nev"}).items}
