"""Patent search as a loan officer types it (issue #16 §2), on both databases: facets never offer a value that leads
to nothing under "pledgeable now", IPC class titles in Chinese, and a saved search with "pledgeable now" ticked."""

from __future__ import annotations

import re
from datetime import date

import pytest

from market.accounts.models import OrgKind, Role
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW


@pytest.fixture
def owner(session, factory):
    """An enterprise with a granted free patent, an application and a pledged patent (all H01M)."""
    org = factory.org(OrgKind.ENTERPRISE)
    rows = [("一种可质押的电池", LegalStatus.GRANTED, PledgeState.FREE),
            ("一种申请中的电池", LegalStatus.APPLICATION, PledgeState.FREE),
            ("一种已质押的电池", LegalStatus.GRANTED, PledgeState.PLEDGED)]
    for n, (title, status, pledge) in enumerate(rows):
        session.add(IpAsset(kind=IpKind.INVENTION, application_number=f"20231000{n:04d}X", title=title,
                            ipc_codes=["H01M10/0525"], owner_org_id=org.id, legal_status=status,
                            pledge_state=pledge, filing_date=date(2023, 1, 5), created_at=NOW, updated_at=NOW))
    session.commit()
    return org


def test_pledgeable_now_offers_no_facet_value_that_leads_to_nothing(client, login_as, owner):
    login_as(Role.BANK)
    everything = client.get(f"/patents?owner={owner.id}").get_data(as_text=True)
    assert "legal_status=application" in everything and "pledge_state=pledged" in everything
    page = client.get(f"/patents?owner={owner.id}&pledgeable=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "一种可质押的电池" in html
    assert "legal_status=application" not in html and "pledge_state=pledged" not in html  # were 申请中 76, 已质押 5
    for link in ("ipc_subclass=H01M", "kind=invention"):
        assert link in html  # the facets that still choose something remain


def test_ipc_class_facet_is_chinese_in_chinese(client, login_as, owner):
    login_as(Role.BANK)
    html = client.get(f"/patents?owner={owner.id}").get_data(as_text=True)
    assert "H01 电学" in html and "H01M 电学" in html  # no Chinese class title in the data: the section's
    assert "BASIC ELECTRIC ELEMENTS" not in html


def test_a_saved_search_with_pledgeable_now_lists_without_error(client, login_as, owner):
    login_as(Role.BANK)
    saved = client.post("/patents/saved", data={"name": "可质押电池",
                                                 "query": "q=电池&pledgeable=1&term_months=12&margin_months=6"})
    assert saved.status_code == 302
    page = client.get("/patents/saved")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]  # was a 500 from then on, saying nothing was saved
    assert "可质押电池" in html and "当前可质押" in html


def _examples(html: str) -> list[str]:
    placeholder = re.search(r'data-test="q"[^>]*|placeholder="([^"]*)"[^>]*data-test="q"', html)
    text = re.search(r'placeholder="([^"]*)"', placeholder.group(0)).group(1)
    text = text.removeprefix("如 ").removeprefix("e.g. ")
    return [part.strip() for part in re.split(r"[、,]", text) if part.strip()]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_boxs_own_examples_always_work(client, login_as, session, owner, language):
    """Every example the search box shows finds a patent it describes (before: `robot` found nothing); the help
    line explains the operators."""
    battery = session.query(IpAsset).filter_by(owner_org_id=owner.id, title="一种可质押的电池").one()
    battery.title, battery.application_number = "一种锂电池负极材料", "2017101064521"
    session.commit()
    login_as(Role.BANK, locale=language)
    html = client.get("/patents").get_data(as_text=True)
    assert 'data-test="q-help"' in html and "OR" in html
    examples = _examples(html)
    assert len(examples) == 4 and "H01M" in examples
    for example in examples:
        found = client.get("/patents", query_string={"q": example, "owner": owner.id}).get_data(as_text=True)
        assert "负极材料" in found, example  # (the title may carry <mark>s)


def test_operators_through_the_api(client, session, factory, owner):
    from market.api.auth import issue_token

    _token, secret = issue_token(session, factory.user(Role.BANK), "test", "read", NOW)
    session.commit()

    def titles(q: str) -> set[str]:
        body = client.get("/api/v1/patents", query_string={"q": q, "owner": owner.id},
                          headers={"Authorization": f"Bearer {secret}"}).get_json()
        assert body["total"] == len(body["items"])
        return {item["title"] for item in body["items"]}

    assert titles("电池 -申请中 -已质押") == {"一种可质押的电池"}
    assert titles('"申请中" OR 已质押') == {"一种申请中的电池", "一种已质押的电池"}
    assert titles("NOT 申请中") == {"一种可质押的电池", "一种已质押的电池"}
