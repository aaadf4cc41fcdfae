"""Saved searches alert a bank once per new matching patent batch; remaining life is computed at query time;
English words find patents through the English IPC titles."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from market.accounts.models import User
from market.db import db, utcnow
from market.ip import finder, indexing
from market.ip.importer import import_bytes
from market.ip.models import SavedSearch
from market.ip.saved import save_search
from market.notices.models import Notice

from .conftest import log_in

NOW = datetime(2026, 11, 28, 9, 30)
HEADER = "publication_number,kind_code,title,ipc_subclasses\n"


def import_rows(rows: list[str], now: datetime) -> None:
    report = import_bytes(db.session, None, (HEADER + "\n".join(rows) + "\n").encode(), "p.csv", now)
    assert not report.rejected, report.rejected
    db.session.commit()


def sync(now: datetime):
    result = indexing.drain(db.session, indexing.get_backend(), now=now)
    db.session.commit()
    return result


def notices_of(user_id: int) -> list[Notice]:
    return list(db.session.scalars(select(Notice).where(Notice.recipient_user_id == user_id).order_by(Notice.id)))


def test_new_matching_patent_raises_exactly_one_alert(ipapp, users):
    bank_id = users["bank"][0]
    with ipapp.app_context():
        import_rows(["CN100000001A,A,一种锂电池的旧设计,H01M"], NOW - timedelta(days=2))
        sync(NOW - timedelta(days=2))
        bank = db.session.get(User, bank_id)
        lithium = save_search(db.session, bank, "锂电池", MultiDict({"q": "锂电池"}), NOW - timedelta(hours=1))
        save_search(db.session, bank, "轴承", MultiDict({"q": "轴承", "kind": "invention"}), NOW - timedelta(hours=1))
        db.session.commit()
        assert notices_of(bank_id) == []
        # one matching and one non-matching patent imported, then the outbox drained
        import_rows(["CN100000002A,A,一种锂电池正极材料,H01M", "CN100000003U,U,一种水泵叶轮,F04D"], NOW)
        result = sync(NOW + timedelta(minutes=1))
        assert result.applied == 2 and result.remaining == 0
        notices = notices_of(bank_id)
        assert len(notices) == 1  # the 轴承 search matched nothing: no notice for it
        assert notices[0].params == {"count": "1", "name": "锂电池"}
        assert notices[0].link == f"/patents/saved/{lithium.id}"
        # syncing again (twice) sends nothing new
        sync(NOW + timedelta(minutes=2))
        indexing.alert_saved_searches(db.session, indexing.get_backend(), NOW + timedelta(minutes=3))
        db.session.commit()
        assert len(notices_of(bank_id)) == 1
        # a non-matching import raises none; a later matching one raises a second notice
        import_rows(["CN100000004U,U,一种轴承座,F16C"], NOW + timedelta(hours=1))  # 轴承 but a utility model
        sync(NOW + timedelta(hours=1, minutes=1))
        assert len(notices_of(bank_id)) == 1
        import_rows(["CN100000005A,A,锂电池隔膜,H01M", "CN100000006A,A,锂电池电解液,H01M"], NOW + timedelta(hours=2))
        sync(NOW + timedelta(hours=2, minutes=1))
        notices = notices_of(bank_id)
        assert len(notices) == 2 and notices[1].params["count"] == "2"
        # the text as the bank reads it (zh_CN is the default UI)
        from market.notices.service import text_of

        with ipapp.test_request_context():
            assert text_of(notices[1]) == "有 2 件新专利符合已保存的检索“锂电池”"


def test_save_from_the_search_page_list_and_workspace_card(ipapp, users):
    client = ipapp.test_client()
    log_in(client, users["bank"][1])
    with ipapp.app_context():
        import_rows(["CN100000011A,A,一种储能电池管理系统,H01M|H02J"], NOW - timedelta(days=1))
        sync(NOW - timedelta(days=1))
    page = client.get("/patents?q=储能&kind=invention").get_data(as_text=True)
    assert 'data-test="save-search"' in page and "保存此检索" in page
    r = client.post("/patents/saved", data={"name": "储能发明", "query": "q=储能&kind=invention&sort=relevance"})
    assert r.status_code == 302
    with ipapp.app_context():
        saved = db.session.scalar(select(SavedSearch))
        assert saved.query["q"] == "储能" and saved.query["kind"] == ["invention"]
        assert saved.owner_org_id == users["bank"][2]
        # a patent created after it was saved (now: real time, as the page uses utcnow)
        time.sleep(0.01)
        later = utcnow()
        import_rows(["CN100000012A,A,储能电站的电池,H01M"], later)
        sync(utcnow())
        saved_id = saved.id
    listing = client.get("/patents/saved").get_data(as_text=True)
    assert "储能发明" in listing and 'data-test="new-count">1<' in listing
    card = client.get("/workspace").get_data(as_text=True)
    assert "已保存的检索" in card and "新增 1 件" in card
    r = client.get(f"/patents/saved/{saved_id}")
    assert r.status_code == 302 and "/patents?" in r.location and "kind=invention" in r.location
    listing = client.get("/patents/saved").get_data(as_text=True)
    assert 'data-test="new-count">0<' in listing
    assert client.post(f"/patents/saved/{saved_id}/delete").status_code == 302
    with ipapp.app_context():
        assert db.session.scalar(select(func.count()).select_from(SavedSearch)) == 0
    # other roles cannot save
    other = ipapp.test_client()
    log_in(other, users["enterprise"][1])
    assert other.post("/patents/saved", data={"name": "x", "query": "q=x"}).status_code in (302, 403)
    with ipapp.app_context():
        assert db.session.scalar(select(func.count()).select_from(SavedSearch)) == 0


def test_remaining_life_bands_follow_today_without_reindex(ipapp):
    with ipapp.app_context():
        # utility model filed 2017-02-27: expires 2027-02-27; invention filed 2020-01-10: expires 2040-01-10
        import_bytes(db.session, None, (
            '{"publication_number": "CN200000001U", "kind": "utility_model", "title": "一种散热装置", '
            '"ipc": ["F28D"], "legal_status": "granted", "filing_date": "2017-02-27"}\n'
            '{"publication_number": "CN200000002A", "kind": "invention", "title": "一种散热方法", '
            '"ipc": ["F28D"], "legal_status": "granted", "filing_date": "2020-01-10"}\n').encode(), "p.jsonl", NOW)
        db.session.commit()
        sync(NOW)
        backend = indexing.get_backend()

        def bands(today: date, **filters) -> tuple[dict, int]:
            params = finder.PatentSearch(q="散热", filters={k: list(v) for k, v in filters.items()})
            hits = finder.run(db.session, backend, finder.build_query(params, today))
            return dict(hits.facets["life_band"]), hits.total

        assert bands(date(2026, 1, 1)) == ({"0-3": 1, "10+": 1}, 2)
        assert bands(date(2026, 1, 1), life_band=["0-3"]) == ({"0-3": 1, "10+": 1}, 1)
        # five years later, same index: the utility model has expired, the invention has 9 years left
        assert bands(date(2031, 1, 1)) == ({"0": 1, "5-10": 1}, 2)
        assert bands(date(2031, 1, 1), life_band=["0-3"]) == ({"0": 1, "5-10": 1}, 0)
        # the band's edge: on the expiry day the right is still alive
        assert bands(date(2027, 2, 27))[0]["0-3"] == 1 and bands(date(2027, 2, 28))[0]["0"] == 1


def test_english_and_mixed_queries_use_the_ipc_titles(ipapp):
    with ipapp.app_context():
        import_rows(["CN300000001A,A,一种锂电池正极材料,H01M", "CN300000002A,A,一种电池外壳注塑模具,B29C",
                     "CN300000003A,A,碳酸锂的提纯方法,C01D"], NOW)
        sync(NOW)
        backend = indexing.get_backend()

        def titles(q: str) -> set[str]:
            hits = finder.run(db.session, backend, finder.build_query(finder.PatentSearch(q=q), NOW.date()))
            return {a.publication_number for a in hits.items}

        # H01M's English title says "…e.g. BATTERIES…": plural folded, so "battery" finds it
        assert titles("battery") == {"CN300000001A"}
        assert titles("batteries") == {"CN300000001A"}
        assert titles("电池 battery") == {"CN300000001A"}  # 电池 alone also finds the mould (B29C)
        assert titles("电池") == {"CN300000001A", "CN300000002A"}
        assert titles("lithium") == {"CN300000003A"}  # C01D: "…ALKALI METALS, i.e. LITHIUM…"
        # the limit: every token must occur; no IPC title has both "lithium" and "battery", and Chinese titles
        # are not translated, so "lithium battery" finds only texts that contain both words
        assert titles("lithium battery") == set()
        assert titles("锂电池 battery") == {"CN300000001A"}
