"""Importer on the real files, outbox in the same transaction, drain, search page, API, pledgeable filter, CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

from sqlalchemy import func, select

from market.audit.models import AuditEntry
from market.db import db
from market.ip import indexing, service
from market.ip.demo import LEGAL_STATUS, TITLE_IPC
from market.ip.importer import import_bytes, import_file
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from market.outbox.models import SearchOutbox

from .conftest import log_in

NOW = datetime(2026, 11, 28, 9, 30)


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_import_real_files_counts_reimport_and_bad_rows(ipapp):
    with ipapp.app_context():
        first = import_file(db.session, None, TITLE_IPC, NOW)
        db.session.commit()
        assert (first.format, first.total, first.created, first.rejected) == ("title_ipc", 9740, 9740, [])
        legal = import_file(db.session, None, LEGAL_STATUS, NOW)
        db.session.commit()
        assert (legal.total, legal.created, legal.rejected) == (866, 866, [])
        assert count(IpAsset) == 10606
        assert count(SearchOutbox) == 10606  # one queued index change per asset, same transaction
        a = db.session.scalar(select(IpAsset).where(IpAsset.application_number == "2017101064521"))
        assert a.kind is IpKind.INVENTION and a.legal_status is LegalStatus.APPLICATION
        assert a.legal_status_raw == "发明专利申请公布" and a.filing_date == date(2017, 2, 27)
        lapsed = db.session.scalar(select(IpAsset).where(IpAsset.publication_number == "CN301483994S"))
        assert lapsed.kind is IpKind.DESIGN and lapsed.legal_status is LegalStatus.LAPSED
        statuses = dict(db.session.execute(
            select(IpAsset.legal_status, func.count()).where(IpAsset.application_number.is_not(None))
            .group_by(IpAsset.legal_status)).all())
        assert statuses[LegalStatus.GRANTED] == 37 + 9 + 1 + 4 + 2
        assert statuses[LegalStatus.REJECTED] == 3 and statuses[LegalStatus.WITHDRAWN] == 3
        # re-import updates by number, creates nothing
        again = import_file(db.session, None, LEGAL_STATUS, NOW)
        db.session.commit()
        assert (again.created, again.updated, again.rejected) == (0, 866, [])
        assert count(IpAsset) == 10606
        # a file with bad rows: each reported with its line, nothing half-written
        text = ("publication_number,kind_code,title,ipc_subclasses\n"
                "CN114081026A,A,一种水电站高压输电线路驱鸟保护装置（修订）,A01M|G06F\n"
                "CN999999999A,A,,H01M\n"            # no title
                "CN999999998Q,Q,一种电池,H01M\n"     # unknown kind code
                "CN999999997U,U,一种锂电池,ZZ99\n"   # bad IPC
                "CN999999996U,U,一种新电池,H01M\n")
        audits = count(AuditEntry)
        report = import_bytes(db.session, None, text.encode(), "x.csv", NOW)
        db.session.commit()
        assert report.created == 1 and report.updated == 1
        assert [line for line, _ in report.rejected] == [3, 4, 5]
        assert count(IpAsset) == 10607
        assert db.session.scalar(select(IpAsset.title).where(IpAsset.publication_number == "CN114081026A")) \
            .endswith("（修订）")
        assert not db.session.scalar(select(IpAsset.id).where(IpAsset.publication_number == "CN999999997U"))
        assert count(AuditEntry) == audits + 2


def test_corrupted_application_number_row_rejected(ipapp):
    with ipapp.app_context():
        text = LEGAL_STATUS.read_text(encoding="utf-8").splitlines()
        rows = [text[0], text[1].replace("CN201710106452.1", "CN201710106452.2"), text[2]]
        report = import_bytes(db.session, None, "\n".join(rows).encode(), "legal.csv", NOW)
        db.session.commit()
        assert report.created == 1 and report.rejected[0][0] == 2 and "check digit" in report.rejected[0][1]
        assert count(IpAsset) == 1 and count(SearchOutbox) == 1


def test_jsonl_roundtrip_and_outbox_rolled_back_with_the_change(ipapp):
    with ipapp.app_context():
        lines = [json.dumps({"publication_number": "CN111504366B", "application_number": "CN201710106452.1",
                             "title": "流体计量", "kind": "invention", "ipc": ["G01F"], "legal_status": "granted",
                             "filing_date": "2017-02-27"}, ensure_ascii=False), "{not json"]
        report = import_bytes(db.session, None, "\n".join(lines).encode(), "p.jsonl", NOW)
        db.session.rollback()  # nothing committed: neither the asset nor its outbox row exist
        assert report.created == 1 and report.rejected[0][0] == 2
        assert count(IpAsset) == 0 and count(SearchOutbox) == 0


def csv_slice(path, rows: int, tmp_path):
    """The header and the first ``rows`` rows of a real file (the whole file is imported once, above)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    out = tmp_path / f"{rows}-{path.name}"
    out.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return out


def test_register_outbox_drain_search_api_pledgeable_and_csv(ipapp, users, tmp_path):
    client = ipapp.test_client()
    _uid, email, _org = users["enterprise"]
    log_in(client, email)
    form = {"kind": "invention", "title": "一种锂电池正极材料及其制备方法", "application_number": "CN201710106452.1",
            "ipc_codes": "H01M H01M4/36", "filing_date": "2017-02-27", "grant_date": "2019-05-01",
            "legal_status": "granted", "abstract": "lithium battery cathode"}
    r = client.post("/ip/new", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    r = client.post("/ip/new", data={**form, "application_number": "CN201710068722.5", "title": "x"})
    assert "校验位" in r.get_data(as_text=True)
    with ipapp.app_context():
        asset = db.session.scalar(select(IpAsset))
        assert asset.owner_org_id == users["enterprise"][2]
        assert count(SearchOutbox) == 0  # the request drained it into the embedded index
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.entity_type == "ip_asset")) \
            == "ip.registered"
        import_file(db.session, None, csv_slice(TITLE_IPC, 1200, tmp_path), NOW)
        db.session.commit()
        pending = count(SearchOutbox)
        assert pending == 1200
        result = indexing.drain(db.session, indexing.get_backend(), limit=500)
        db.session.commit()
        assert result.applied == 500 and result.remaining == pending - 500
        indexing.drain(db.session, indexing.get_backend())
        db.session.commit()
        assert count(SearchOutbox) == 0
        assert service.pledgeable(asset, today=date(2026, 11, 28), term_months=12, margin_months=6).ok
        no = service.pledgeable(asset, today=date(2036, 11, 28), term_months=12, margin_months=6)
        assert not no.ok and "plus the margin" in no.reasons[0]
        asset_id = asset.id
    bank = ipapp.test_client()
    log_in(bank, users["bank"][1])
    r = bank.get("/patents?q=锂电池")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<mark>" in body
    r = bank.get("/patents?q=锂电池&pledgeable=1&term_months=24&margin_months=6")
    body = r.get_data(as_text=True)
    assert body.count('data-test="hit"') == 1 and f"/patents/{asset_id}" in body
    assert bank.get("/patents?q=锂电池&pledgeable=1&term_months=300").get_data(as_text=True) \
        .count('data-test="hit"') == 0
    assert bank.get("/patents?page=abc").status_code == 422
    assert bank.get(f"/patents/{asset_id}").status_code == 200
    # CSV export, streamed
    r = bank.get("/patents/export.csv?q=电池&kind=utility_model")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert r.mimetype == "text/csv" and rows and all(row["kind"] == "utility_model" for row in rows)
    # API with a token
    token = bank.post("/api/v1/tokens", json={"email": users["bank"][1], "password": "correct-horse-42"}).json["token"]
    h = {"Authorization": f"Bearer {token}"}
    data = bank.get("/api/v1/patents?q=电池&per_page=5&ipc_section=H", headers=h).json
    assert data["total"] > 5 and len(data["items"]) == 5 and data["page"] == 1 and data["per_page"] == 5
    item = data["items"][0]
    assert {"id", "publication_number", "application_number", "title", "kind", "ipc", "legal_status",
            "pledge_state"} <= set(item)
    assert all("H" in {c[0] for c in i["ipc"]} for i in data["items"])
    facets = data["facets"]
    assert {"ipc_section", "ipc_class", "ipc_subclass", "kind", "legal_status", "pledge_state", "life_band",
            "owner"} <= set(facets)
    assert sum(b["count"] for b in facets["kind"]) == data["total"]
    assert any(b["value"] == "H" and b["label"].startswith("H 电学") for b in facets["ipc_section"])
    two = bank.get("/api/v1/patents?q=电池&per_page=5&page=2", headers=h).json
    assert not {i["id"] for i in two["items"]} & {i["id"] for i in bank.get(
        "/api/v1/patents?q=电池&per_page=5", headers=h).json["items"]}
    for bad in ("per_page=1000", "page=0", "sort=nope", "term_months=x", "pledgeable=maybe"):
        r = bank.get(f"/api/v1/patents?{bad}", headers=h)
        assert r.status_code == 422 and "error" in r.json, bad
    assert bank.get("/api/v1/patents").status_code == 401
    one = bank.get(f"/api/v1/patents/{asset_id}", headers=h).json
    assert one["pledgeable"]["ok"] is True and one["application_number"] == "CN201710106452.1"


def test_engine_down_keeps_outbox_then_sync(make_app, tmp_path):
    app = make_app(ELASTICSEARCH_URL="http://127.0.0.1:9", SEARCH_EMBEDDED_PATH=str(tmp_path / "s.sqlite3"))
    with app.app_context():
        import_bytes(db.session, None, csv_slice(LEGAL_STATUS, 200, tmp_path).read_bytes(), "legal.csv", NOW)
        db.session.commit()
        result = indexing.drain(db.session, indexing.get_backend())
        db.session.commit()
        assert result.error and result.applied == 0 and count(SearchOutbox) == 200
        assert db.session.scalar(select(func.max(SearchOutbox.attempts))) == 1
        # the staff console shows the lag
        from market.ip.area import _index_lag

        assert _index_lag(db.session).startswith("200")
    # the same database, now with a working (embedded) engine
    app2 = make_app(url=app.config["SQLALCHEMY_DATABASE_URI"], SEARCH_EMBEDDED_PATH=str(tmp_path / "s2.sqlite3"))
    runner = app2.test_cli_runner()
    out = runner.invoke(args=["search", "sync"])
    assert out.exit_code == 0, out.output
    with app2.app_context():
        assert count(SearchOutbox) == 0
        assert indexing.get_backend().count("patents") == 200
    out = runner.invoke(args=["search", "reindex"])
    assert "200" in out.output


def test_cli_import_reports_rejected_rows(make_app, tmp_path):
    app = make_app(SEARCH_EMBEDDED_PATH=str(tmp_path / "s.sqlite3"))
    bad = tmp_path / "bad.csv"
    bad.write_text("publication_number,kind_code,title,ipc_subclasses\nCN1A,A,t,H01M\nCN114081026A,A,好,A01M\n",
                   encoding="utf-8")
    out = app.test_cli_runner().invoke(args=["import", "patents", str(bad)])
    assert out.exit_code == 0, out.output
    assert "1 created" in out.output and "line 2" in out.output and "1 rejected" in out.output


def test_pledgeable_reasons():
    a = IpAsset(kind=IpKind.TRADEMARK, title="t", legal_status=LegalStatus.GRANTED, pledge_state=PledgeState.PLEDGED,
                frozen=True, filing_date=date(2020, 1, 1))
    result = service.pledgeable(a, today=date(2026, 1, 1), term_months=12, margin_months=0)
    assert not result.ok and len(result.reasons) == 3
    ok = service.pledgeable(a, today=date(2026, 1, 1), term_months=12, eligible_kinds={IpKind.TRADEMARK})
    assert len(ok.reasons) == 2
