"""Change capture and index identity (issue #13 §1–2): every change to what a search document reads reaches the
index on its own (the session hook in `market.outbox`, no writer calls an enqueue), driven here through the real
services and the real search API; an index built from another database is never used; a hit the database lacks
never reaches a page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.accounts.models import Role
from market.accounts.service import OrgDetails, update_organisation
from market.api.auth import issue_token
from market.db import db
from market.ip import indexing
from market.ip.models import PledgeState
from market.loans import default, repayments, signing
from market.outbox import backend as outbox_backend
from market.outbox import models
from tests.conftest import NOW, PASSWORD, Factory
from tests.factories import NeedsKit, make_asset

SIGNED = date(2026, 12, 1)
AT = datetime(2026, 12, 1, 9)


@pytest.fixture
def story(session, factory):
    """A published need offering two patents; a bank's offer the enterprise accepted (the signing flow's start)."""
    ent, bank, need, offer = NeedsKit(session, factory).accepted_offer(conditions="需办理专利权质押登记")
    for na in need.assets:
        na.asset.filing_date = date(2022, 3, 1)  # an invention in force to 2042: long enough to pledge
    session.commit()
    _token, secret = issue_token(session, bank, "test", "read write", NOW)
    session.commit()
    return {"ent": ent, "bank": bank, "need": need, "offer": offer, "assets": [na.asset for na in need.assets],
            "auth": {"Authorization": f"Bearer {secret}"}}


def found(client, story, **params) -> set[int]:
    """Ids of the story's patents the search API finds (every patent of the owner; `pledgeable=1` etc.)."""
    owner = story["ent"].organisation_id
    answer = client.get("/api/v1/patents", query_string={"owner": owner, "per_page": 100, **params},
                        headers=story["auth"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["total"] == len(body["items"])  # never a short page
    return {item["id"] for item in body["items"]}


def test_signing_releasing_and_disposal_move_patents_in_and_out_of_pledgeable_now(client, session, story):
    assets = {a.id for a in story["assets"]}
    assert found(client, story, pledgeable=1) == assets

    loan = signing.sign_loan_from_offer(session, story["bank"], story["offer"].id, signed_on=SIGNED, now=AT,
                                        registration_number="Y2026500001234")
    session.commit()
    assert found(client, story, pledgeable=1) == set()  # pledged: no longer pledgeable now
    assert found(client, story, pledge_state="pledged") == assets

    repayments.record_repayment(session, story["bank"], loan.id, paid_on=SIGNED + timedelta(days=30),
                                principal=loan.principal, interest=Decimal("1000"), now=AT + timedelta(days=30))
    session.commit()
    assert found(client, story, pledgeable=1) == assets  # released: pledgeable again


def test_disposal_moves_pledged_patents_to_in_disposal(client, session, story, factory):
    loan = signing.sign_loan_from_offer(session, story["bank"], story["offer"].id, signed_on=SIGNED, now=AT,
                                        registration_number="Y2026500001235")
    default.declare_default(session, story["bank"], loan.id, AT + timedelta(days=200), reason="逾期未还")
    default.start_disposal(session, factory.user(Role.STAFF), loan.id, AT + timedelta(days=201))
    session.commit()
    assert all(a.pledge_state is PledgeState.IN_DISPOSAL for a in story["assets"])
    assert found(client, story, pledge_state="in_disposal") == {a.id for a in story["assets"]}
    assert found(client, story, pledgeable=1) == set()


def test_an_organisations_district_change_reaches_its_patents(client, session, story):
    owner = story["ent"].organisation
    assert found(client, story, district=owner.district_code) == {a.id for a in story["assets"]}
    details = OrgDetails(name=owner.name, credit_code=owner.credit_code, district_code="500103",
                         industry_code=owner.industry_code)
    update_organisation(session, story["ent"], details, NOW)
    session.commit()
    assert found(client, story, district="500103") == {a.id for a in story["assets"]}
    assert found(client, story, district="500112") == set()


def test_writers_never_enqueue_the_hook_does(session, story):
    """A bulk UPDATE (the signing's compare-and-set) and a plain attribute change both queue the document."""
    asset = story["assets"][0]
    session.execute(select(models.SearchOutbox))  # nothing special: just a read
    before = _queued(session, asset.id)
    asset.title = "一种新的标题"
    session.flush()
    assert _queued(session, asset.id) == before + 1
    asset.updated_at = NOW + timedelta(days=1)  # not read by the document: nothing queued
    session.flush()
    assert _queued(session, asset.id) == before + 1


def _queued(session, asset_id: int) -> int:
    return len(session.scalars(select(models.SearchOutbox).where(
        models.SearchOutbox.index_name == "patents", models.SearchOutbox.doc_id == str(asset_id))).all())


def test_an_index_of_another_database_is_rebuilt_and_never_answers(make_app, tmp_path):
    """Two databases pointed at one embedded index file: the second never sees the first's patents, and a
    patent registered on the second is found (before: total 330 with 0 items, foreign hits, a 500)."""
    shared = str(tmp_path / "one-index.sqlite3")
    first = make_app(SEARCH_EMBEDDED_PATH=shared)
    with first.app_context():
        kit = NeedsKit(db.session, Factory(db.session))
        org = kit.enterprise().organisation
        for n in range(5):
            make_asset(kit.session, org, title=f"第一个数据库的专利{n}")
        db.session.commit()
        indexing.reindex(db.session, indexing.get_backend())
        db.session.commit()
        assert indexing.get_backend().count("patents") == 5
    second = make_app(SEARCH_EMBEDDED_PATH=shared)
    with second.app_context():
        factory = Factory(db.session)
        kit = NeedsKit(db.session, factory)
        mine = make_asset(kit.session, kit.enterprise().organisation, title="第二个数据库的储能电池")
        bank = factory.user(Role.BANK)
        db.session.commit()
        email, mine_id = bank.email, mine.id
    with second.test_client() as client:
        token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]
        body = client.get("/api/v1/patents?per_page=100", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert [item["id"] for item in body["items"]] == [mine_id] and body["total"] == 1
        hit = client.get("/api/v1/patents", query_string={"q": "第二个数据库的储能电池"},
                         headers={"Authorization": f"Bearer {token}"})
        assert hit.status_code == 200 and [i["id"] for i in hit.get_json()["items"]] == [mine_id]
    with second.app_context():
        stamp = indexing.get_backend().stamp("patents")
        assert stamp == outbox_backend.stamp_for(db.session, indexing.OUTBOX_INDEX)


def test_the_default_embedded_index_sits_beside_its_database(tmp_path):
    from pathlib import Path

    from market.config import embedded_search_path

    assert embedded_search_path(f"sqlite:///{tmp_path}/a/market.sqlite3", tmp_path / "instance") == \
        str(tmp_path / "a" / "market.search.sqlite3")
    one = embedded_search_path("postgresql+psycopg://u:secret@db/one", tmp_path)
    two = embedded_search_path("postgresql+psycopg://u:secret@db/two", tmp_path)
    assert one != two and "secret" not in one and Path(one).parent == tmp_path


def test_a_hit_the_database_lacks_is_dropped_and_the_page_stays_full(client, session, story):
    """Ids in the index that the database lacks (rolled back, deleted behind the index's back) are deleted from
    the index and the search runs again: total equals the items, never a short page."""
    backend = indexing.get_backend(client.application)
    ghosts = [{"id": str(10_000_000 + n), "title": "幽灵专利", "owner": str(story["ent"].organisation_id),
               "pledge_state": "free"} for n in range(3)]
    backend.index("patents", ghosts)
    backend.refresh("patents")
    assert found(client, story) == {a.id for a in story["assets"]}
    assert backend.search("patents", indexing_query(story)).total == len(story["assets"])


def indexing_query(story):
    from search import SearchQuery

    return SearchQuery(filters={"owner": [str(story["ent"].organisation_id)]})


def test_the_capture_covers_every_field_a_patent_document_reads():
    """Every document field comes from a watched column (a new field without a watch fails here)."""
    watched = {(w.table, c) for w in indexing.WATCHES for c in w.columns}
    reads = {("ip_asset", c) for c in ("title", "abstract", "applicants", "ipc_codes", "kind", "legal_status",
                                       "pledge_state", "owner_org_id", "frozen", "filing_date", "created_at")}
    reads |= {("organisation", "district_code"), ("organisation", "industry_code"), ("valuation", "amount"),
              ("loan_policy", "eligible_kinds")}
    assert reads <= watched
