"""Patents by their numbers (issue #13 §3): what a loan officer pastes first finds the patent through the search
API, on both databases: the publication number, the application number with or without check digit and dot, the
IPC code at every level with or without the space, an applicant's exact name."""

from __future__ import annotations

from datetime import date

import pytest

from market.accounts.models import OrgKind, Role
from market.api.auth import issue_token
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW


@pytest.fixture
def world(session, factory):
    owner = factory.org(OrgKind.ENTERPRISE)
    battery = IpAsset(kind=IpKind.INVENTION, application_number="2017101064521", publication_number="CN118193476B",
                      title="一种锂离子电池负极材料", applicants="重庆号码测试新能源科技有限公司",
                      ipc_codes=["H01M10/0525", "H01M4/62"], owner_org_id=owner.id, legal_status=LegalStatus.GRANTED,
                      pledge_state=PledgeState.FREE, filing_date=date(2017, 3, 1), created_at=NOW, updated_at=NOW)
    solar = IpAsset(kind=IpKind.INVENTION, application_number="2019100000011", publication_number="CN114081026A",
                    title="一种太阳能电池组件", applicants="重庆号码测试光伏股份有限公司 ; 重庆大学",
                    ipc_codes=["H01L31/042"], owner_org_id=owner.id, legal_status=LegalStatus.GRANTED,
                    pledge_state=PledgeState.FREE, filing_date=date(2019, 1, 5), created_at=NOW, updated_at=NOW)
    session.add_all([battery, solar])
    session.commit()  # the session hook queued both; the search applies them before it runs
    bank = factory.user(Role.BANK)
    _token, secret = issue_token(session, bank, "test", "read", NOW)
    session.commit()
    return {"battery": battery.id, "solar": solar.id, "owner": owner.id,
            "auth": {"Authorization": f"Bearer {secret}"}}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("CN118193476B", {"battery"}),
        ("CN201710106452.1", {"battery"}), ("201710106452.1", {"battery"}), ("2017101064521", {"battery"}),
        ("201710106452", {"battery"}), ("ZL201710106452.1", {"battery"}),
        ("H01M", {"battery"}), ("H01M10/052", {"battery"}), ("H01M 10/052", {"battery"}),
        ("H01M10/0525", {"battery"}), ("H01M4", {"battery"}), ("H01", {"battery", "solar"}), ("H01L", {"solar"}),
        ("重庆号码测试光伏股份有限公司", {"solar"}),
    ],
)
def test_a_pasted_number_finds_the_patent(client, world, q, expected):
    answer = client.get("/api/v1/patents", query_string={"q": q, "owner": world["owner"], "per_page": 50},
                        headers=world["auth"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert {item["id"] for item in body["items"]} == {world[name] for name in expected}
    assert body["total"] == len(expected)


def test_an_ipc_subclass_query_agrees_with_its_facet(client, world):
    """q=H01M finds what the H01M facet counts, and q=H01M with the H01M filter is not empty (#16)."""
    both = client.get("/api/v1/patents", query_string={"q": "H01M", "ipc_subclass": "H01M", "owner": world["owner"]},
                      headers=world["auth"]).get_json()
    facet = client.get("/api/v1/patents", query_string={"owner": world["owner"]}, headers=world["auth"]).get_json()
    h01m = dict((b["value"], b["count"]) for b in facet["facets"]["ipc_subclass"])["H01M"]
    assert both["total"] == h01m == 1
