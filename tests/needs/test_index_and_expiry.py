"""Published needs in the search index (outbox → drain, Chinese full text, facets, removal) and expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.accounts.models import Role
from market.audit.models import AuditEntry
from market.db import db
from market.needs import browse, docking, indexing, service
from market.needs.models import NeedStatus
from market.outbox.models import SearchOutbox
from tests.conftest import NOW, PASSWORD, Factory, login
from tests.factories import NeedsKit, make_asset
from tests.outbox.engines import ENGINES, app_search_settings


def _outbox(session) -> int:
    return session.scalar(select(func.count()).select_from(SearchOutbox).where(SearchOutbox.index_name == "needs"))


@pytest.fixture(params=ENGINES)
def search_config(request, tmp_path):
    with app_search_settings(request.param, tmp_path) as config:
        yield config


def test_needs_index_story(make_app, search_config):
    app = make_app(**search_config)
    with app.app_context():
        session = db.session
        kit = NeedsKit(session, Factory(session))
        ent = kit.enterprise()
        staff = kit.factory.user(Role.STAFF)
        bank = kit.factory.user(Role.BANK)
        battery = kit.published_need(ent, staff, title="动力电池回收中试线", purpose="建设梯次利用与拆解中试线")
        robot = kit.published_need(kit.enterprise(), staff, title="协作机器人关节模组量产",
                                   purpose="采购精密减速器", amount=Decimal("800000"))
        draft_assets = [make_asset(kit.session, ent.organisation)]
        service.create_need(session, ent, kit.data(draft_assets, title="电池材料草稿"), NOW)
        session.commit()
        assert _outbox(session) >= 2
        backend = indexing.get_backend()
        result = indexing.drain(session, backend)
        session.commit()
        assert result.error is None and result.remaining == 0 and _outbox(session) == 0

        found = browse.search_needs(session, backend, {"q": "电池"})
        assert found.engine == "search"
        assert [n.id for n in found.items] == [battery.id]  # 电池 matches 动力电池, not the draft
        assert found.total == 1
        everything = browse.search_needs(session, backend, {})
        assert {n.id for n in everything.items} == {battery.id, robot.id}
        assert dict(everything.facets["amount_band"])[robot.amount_band] == 1
        assert dict(everything.facets["ipc_section"])["H"] == 2, everything.facets
        only_small = browse.search_needs(session, backend, {"amount_band": robot.amount_band})
        assert [n.id for n in only_small.items] == [robot.id]
        # disjunctive facets: the chosen facet still counts both bands
        assert len(only_small.facets["amount_band"]) == 2
        assert [n.id for n in browse.search_needs(session, backend, {"q": "机器人"}).items] == [robot.id]
        assert browse.search_needs(session, backend, {"q": ent.organisation.name}).total >= 1

        # a claim keeps the need (in talks); withdrawal removes it
        docking.claim_need(session, bank, battery.id, NOW + timedelta(hours=1))
        service.close_need(session, staff, robot.id, NOW + timedelta(hours=2))
        session.commit()
        indexing.drain(session, backend)
        session.commit()
        hits = browse.search_needs(session, backend, {})
        assert [n.id for n in hits.items] == [battery.id]
        assert hits.items[0].status is NeedStatus.IN_TALKS

        # a full rebuild gives the same
        assert indexing.reindex(session, backend) == 1
        session.commit()
        assert [n.id for n in browse.search_needs(session, backend, {"q": "电池"}).items] == [battery.id]

        # the browse page and the API use the index
        client = app.test_client()
        login(client, bank)
        page = client.get("/needs/?q=电池").get_data(as_text=True)
        assert "动力电池回收中试线" in page and "协作机器人关节模组量产" not in page
        from market.api.auth import issue_token

        _t, secret = issue_token(session, bank, "test", "read", NOW)
        body = client.get("/api/v1/needs?q=电池", headers={"Authorization": f"Bearer {secret}"}).json
        assert body["engine"] == "search" and [i["id"] for i in body["items"]] == [battery.id]
        assert body["total"] == 1 and "ipc_section" in body["facets"]


def test_engine_down_needs_and_patents_answer_503_and_the_outbox_keeps_the_changes(make_app, tmp_path):
    """One policy when the engine is down: every search (needs and patents, page and API) answers 503 with a clear
    message, never another answer computed some other way; the changes wait in the outbox."""
    app = make_app(ELASTICSEARCH_URL="http://127.0.0.1:9", SEARCH_EMBEDDED_PATH=str(tmp_path / "s.sqlite3"))
    with app.app_context():
        session = db.session
        kit = NeedsKit(session, Factory(session))
        kit.published_need(title="电池极片产线")
        bank = kit.factory.user(Role.BANK)
        session.commit()
        email = bank.email
        result = indexing.drain(session, indexing.get_backend())
        session.commit()
        assert result.error and result.remaining >= 1
    with app.test_client() as client:
        client.post("/login", data={"email": email, "password": PASSWORD})
        for path in ("/needs/?q=电池", "/patents?q=电池"):
            page = client.get(path)
            assert page.status_code == 503, path
            assert "暂时不可用" in page.get_data(as_text=True) or "不可用" in page.get_data(as_text=True)
        token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]
        for path in ("/api/v1/needs?q=电池", "/api/v1/patents?q=电池"):
            answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "search_unavailable", path
    with app.app_context():
        assert _outbox(db.session) >= 1  # nothing lost


def test_published_needs_expire_after_the_period(session, kit, factory):
    staff = factory.user(Role.STAFF)
    old = kit.published_need(staff=staff, title="很久以前的需求")
    old.published_at = NOW - timedelta(days=181)
    fresh = kit.published_need(staff=staff)
    fresh.published_at = NOW - timedelta(days=179)
    talking = kit.published_need(staff=staff)
    talking.published_at = NOW - timedelta(days=400)
    docking.claim_need(session, factory.user(Role.BANK), talking.id, NOW - timedelta(days=300))
    session.flush()
    expired = service.expire_needs(session, NOW, days=180)
    assert [n.id for n in expired] == [old.id]
    assert old.status is NeedStatus.EXPIRED and old.closed_at == NOW
    assert fresh.status is NeedStatus.PUBLISHED and talking.status is NeedStatus.IN_TALKS
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.entity_type == "need",
                                                          AuditEntry.entity_id == str(old.id),
                                                          AuditEntry.action == "need.expired"))
    assert service.expire_needs(session, NOW, days=180) == []  # idempotent
    # 179 days later the fresh one goes too
    assert [n.id for n in service.expire_needs(session, NOW + timedelta(days=2), days=180)] == [fresh.id]


def test_expire_and_tick_commands(make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "search.sqlite3"), NEEDS_EXPIRY_DAYS=30)
    with app.app_context():
        kit = NeedsKit(db.session, Factory(db.session))
        need = kit.published_need()
        need.published_at = datetime.now() - timedelta(days=31)  # noqa: DTZ005 - naive UTC-ish, a month back
        db.session.commit()
        need_id = need.id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["needs", "expire"])
    assert result.exit_code == 0, result.output
    assert "Expired 1 need(s) published more than 30 days ago" in result.output
    assert "Needs index updated" in result.output
    result = runner.invoke(args=["needs", "tick"])
    assert result.exit_code == 0 and "expired 0 need(s)" in result.output, result.output
    result = runner.invoke(args=["search", "reindex-needs"])
    assert result.exit_code == 0 and "0 published needs" in result.output, result.output
    with app.app_context():
        assert db.session.get(type(need), need_id).status is NeedStatus.EXPIRED
