"""Expert pool and consultations; pages, uploads through the web, access, and the API shapes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from market.accounts.models import Role
from market.errors import Conflict, InvalidInput, NotFound
from market.notices.models import Notice
from market.valuations import conflicts, experts
from market.valuations.models import Consultation, ConsultationStatus, Valuation, ValuationStatus, ValueType
from tests.conftest import NOW, PASSWORD, login
from tests.factories import PDF, PNG, make_asset


def expert(session, factory, symbols, **kw):
    user = factory.user(Role.VALUER, **kw)
    experts.save_expert_profile(session, user, title="资产评估师", bio="", specialities=symbols, now=NOW)
    return user


def test_specialities_are_checked_against_the_ipc_table(session, factory):
    user = factory.user(Role.VALUER)
    profile = experts.save_expert_profile(session, user, title=None, bio="b", specialities="h01m, G06；B", now=NOW)
    assert profile.symbols == ["B", "G06", "H01M"]
    with pytest.raises(InvalidInput):
        experts.save_expert_profile(session, user, title=None, bio="", specialities="Z99", now=NOW)
    with pytest.raises(InvalidInput):
        experts.save_expert_profile(session, factory.user(Role.VALUER), title=None, bio="", specialities="", now=NOW)


def test_match_me_ranks_by_ipc_overlap_and_leaves_out_conflicted(session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id, ipc=("H01M10/0525", "H01M4/36"))
    section = expert(session, factory, ["H"])
    subclass = expert(session, factory, ["H01M", "B25J"])
    expert(session, factory, ["A61K"])
    ranked = experts.rank_experts(session, [asset])
    assert [r.expert.user_id for r in ranked[:2]] == [subclass.id, section.id]
    assert ranked[0].common == ["H01M"] and ranked[0].score == 3
    conflicts.declare_conflict(session, subclass, tied_org_id=owner.organisation_id, asset_id=None,
                               reason="亲属任职", whole_agency=False, now=NOW)
    c = experts.request_consultation(session, owner, asset_id=asset.id, question="如何融资？", now=NOW)
    assert c.expert.user_id == section.id and c.matched
    with pytest.raises(Conflict):
        experts.request_consultation(session, owner, asset_id=asset.id, question="?", now=NOW,
                                     expert_id=experts.own_profile(session, subclass).id)


def test_consultation_flow_with_notices(session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id)
    valuer = expert(session, factory, ["H01M"])
    c = experts.request_consultation(session, owner, asset_id=asset.id, question="质押多少合适？", now=NOW)
    assert c.status is ConsultationStatus.REQUESTED
    with pytest.raises(NotFound):  # another enterprise's asset
        experts.request_consultation(session, factory.user(Role.ENTERPRISE), asset_id=asset.id, question="?",
                                     now=NOW)
    from decimal import Decimal

    experts.answer_consultation(session, valuer, c.id, answer="建议以抵押贷款价值申请，期限一年。",
                                suggested_amount=Decimal("800000"), suggested_term_months=12,
                                suggested_value_type=ValueType.MORTGAGE_LENDING, now=NOW + timedelta(hours=2))
    assert c.status is ConsultationStatus.ANSWERED and c.suggested_amount == Decimal("800000")
    experts.close_consultation(session, owner, c.id, NOW + timedelta(days=1))
    assert c.status is ConsultationStatus.CLOSED
    notices = session.scalars(select(Notice).where(Notice.link == f"/consultations/{c.id}")).all()
    assert {(n.recipient_user_id, n.recipient_org_id) for n in notices} == {
        (valuer.id, None), (None, owner.organisation_id)}
    with pytest.raises(Conflict):
        experts.close_consultation(session, owner, c.id, NOW)


def test_another_enterprise_cannot_read_a_consultation(client, session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id)
    valuer = expert(session, factory, ["H01M"])
    c = experts.request_consultation(session, owner, asset_id=asset.id, question="问题", now=NOW)
    session.commit()
    login(client, factory.user(Role.ENTERPRISE))
    assert client.get(f"/consultations/{c.id}").status_code == 404
    assert client.post(f"/consultations/{c.id}/close").status_code == 302
    assert c.status is ConsultationStatus.REQUESTED
    client.post("/logout")
    login(client, valuer)
    page = client.get(f"/consultations/{c.id}")
    assert page.status_code == 200 and "问题" in page.get_data(as_text=True)


def test_enterprise_asks_and_expert_answers_through_pages(client, session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id)
    valuer = expert(session, factory, ["H01M"])
    session.commit()
    login(client, owner)
    assert "咨询专家" in client.get("/workspace").get_data(as_text=True)
    r = client.post("/consultations/new", data={"subject": f"asset:{asset.id}", "expert_id": "",
                                                "question": "能贷多少？"})
    assert r.status_code == 302
    c = session.scalar(select(Consultation).where(Consultation.org_id == owner.organisation_id))
    client.post("/logout")
    login(client, valuer)
    assert "待答复的咨询" in client.get("/workspace").get_data(as_text=True)
    r = client.post(f"/consultations/{c.id}/answer", data={"answer": "建议一年期", "suggested_amount": "500000",
                                                           "suggested_term_months": "12",
                                                           "suggested_value_type": "mortgage_lending"})
    assert r.status_code == 302
    session.refresh(c)
    assert c.status is ConsultationStatus.ANSWERED
    assert "抵押贷款价值" in client.get(f"/consultations/{c.id}").get_data(as_text=True)


# --- valuation pages ------------------------------------------------------------------------------------------


def _form(asset, **kw):
    data = {"asset_id": asset.id, "value_type": "market", "amount": "1200000", "valuation_date": "2026-11-01",
            "method": "income", "signer_name": "王评估", "signer_qualification": "CPV-1", "issue_now": "y"}
    data.update(kw)
    return data


def test_valuer_issues_with_a_pdf_and_only_parties_download_it(client, session, factory, uploads):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id)
    valuer = factory.user(Role.VALUER)
    session.commit()
    login(client, valuer)
    r = client.post("/valuations/new", data=_form(asset, file=(io.BytesIO(PDF), "报告.pdf")),
                    content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    v = session.scalar(select(Valuation).where(Valuation.asset_id == asset.id))
    assert v.status is ValuationStatus.ISSUED and v.file_key
    client.post("/logout")
    login(client, owner)
    got = client.get(f"/valuations/{v.id}/file")
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert "attachment" in got.headers["Content-Disposition"]
    got.close()
    assert "市场价值" in client.get(f"/valuations/assets/{asset.id}").get_data(as_text=True)
    client.post("/logout")
    login(client, factory.user(Role.ENTERPRISE))
    assert client.get(f"/valuations/{v.id}/file").status_code == 404
    assert client.get(f"/valuations/{v.id}").status_code == 404


@pytest.mark.parametrize("data, name, message", [
    (PNG, "report.pdf", "不是 PDF"),
    (b"%PDF-" + b"0" * (6 * 1024 * 1024), "big.pdf", "不得超过 5 MB"),
])
def test_bad_uploads_are_refused_with_a_message(client, session, factory, uploads, data, name, message):
    asset = make_asset(session, factory.org("enterprise").id)
    login(client, factory.user(Role.VALUER))
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(MultiDict(_form(asset, file=FileStorage(io.BytesIO(data), name))))
    r = client.post("/valuations/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 200 and message in r.get_data(as_text=True)
    assert session.scalar(select(Valuation).where(Valuation.asset_id == asset.id)) is None


def test_conflict_is_refused_on_the_page_with_its_reason(client, session, factory):
    valuer = factory.user(Role.VALUER)
    asset = make_asset(session, valuer.organisation_id)
    login(client, valuer)
    r = client.post("/valuations/new", data=_form(asset))
    assert r.status_code == 200 and "该资产属于贵机构" in r.get_data(as_text=True)


def test_a_bank_cannot_issue_valuations(client, session, factory):
    asset = make_asset(session, factory.org("enterprise").id)
    bank = factory.user(Role.BANK)
    login(client, bank)
    assert client.get("/valuations/new").status_code == 403
    assert client.post("/valuations/new", data=_form(asset)).status_code == 403
    token = _token(client, bank)
    r = client.post("/api/v1/valuations", json=_api_body(asset), headers=token)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/valuations/", "/valuations/new", "/valuations/conflicts",
                                  "/valuations/accuracy", "/experts/profile", "/consultations/"])
def test_valuer_pages_render(client, factory, path):
    login(client, factory.user(Role.VALUER))
    assert client.get(path).status_code == 200


# --- API ------------------------------------------------------------------------------------------------------


def _token(client, user):
    r = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _api_body(asset, **kw):
    body = {"asset_id": asset.id, "value_type": "mortgage_lending", "amount": "1234567.89",
            "valuation_date": "2026-11-20", "method": "market", "signer_name": "李签字",
            "signer_qualification": "CPV-77"}
    body.update(kw)
    return body


def test_api_create_list_and_experts(at_now, client, session, factory):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id)
    valuer = expert(session, factory, ["H01M"])
    session.commit()
    vt = _token(client, valuer)
    r = client.post("/api/v1/valuations", json=_api_body(asset), headers=vt)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["amount"] == "1234567.89" and body["status"] == "issued" and body["valid_until"] == "2027-11-20"
    assert body["signer"] == {"name": "李签字", "qualification": "CPV-77"} and body["in_force"] is True
    listed = client.get(f"/api/v1/assets/{asset.id}/valuations", headers=_token(client, owner)).get_json()
    assert listed["asset_id"] == asset.id and [i["id"] for i in listed["items"]] == [body["id"]]
    stranger = _token(client, factory.user(Role.ENTERPRISE))
    assert client.get(f"/api/v1/assets/{asset.id}/valuations", headers=stranger).get_json()["items"] == []
    assert client.get("/api/v1/assets/999999/valuations", headers=vt).status_code == 404
    pool = client.get("/api/v1/experts", headers=stranger).get_json()["items"]
    mine = [e for e in pool if e["user_id"] == valuer.id]
    assert mine and mine[0]["specialities"] == ["H01M"] and "agency" in mine[0]
    assert client.get("/api/v1/experts").status_code == 401


@pytest.mark.parametrize("change, status", [
    ({"value_type": "fire_sale"}, 422), ({"amount": "-5"}, 422), ({"signer_qualification": ""}, 422),
    ({"valuation_date": "2026-11-01", "valid_until": "2026-10-01"}, 422), ({"asset_id": 999999}, 404),
])
def test_api_bad_input(client, session, factory, change, status):
    asset = make_asset(session, factory.org("enterprise").id)
    valuer = factory.user(Role.VALUER)
    r = client.post("/api/v1/valuations", json=_api_body(asset, **change), headers=_token(client, valuer))
    assert r.status_code == status and "error" in r.get_json()


def test_api_conflict_is_409(client, session, factory):
    valuer = factory.user(Role.VALUER)
    asset = make_asset(session, valuer.organisation_id)
    r = client.post("/api/v1/valuations", json=_api_body(asset), headers=_token(client, valuer))
    assert r.status_code == 409 and "该资产属于贵机构" in r.get_json()["error"]["message"]


def test_a_tie_declared_later_moves_waiting_consultations_direct_and_matched(session, factory):
    """A valuer who declares a tie with an enterprise no longer holds its waiting consultations (direct or matched):
    they go to another free expert, or are closed when none is free; the enterprise is told."""
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id, ipc=("H01M10/0525",))
    tied = expert(session, factory, ["H01M"])
    other = expert(session, factory, ["H"])
    direct = experts.request_consultation(session, owner, asset_id=asset.id, question="直接提问", now=NOW,
                                          expert_id=experts.own_profile(session, tied).id)
    matched = experts.request_consultation(session, owner, asset_id=asset.id, question="请匹配专家", now=NOW)
    assert direct.expert.user_id == tied.id and matched.expert.user_id == tied.id and matched.matched
    conflicts.declare_conflict(session, tied, tied_org_id=owner.organisation_id, asset_id=None, reason="曾任顾问",
                               whole_agency=False, now=NOW + timedelta(hours=1))
    for c in (direct, matched):
        session.refresh(c)
        assert c.expert.user_id == other.id and c.matched and c.status is ConsultationStatus.REQUESTED
        assert not experts.can_view_consultation(tied, c)
    assert not experts.consultations_for(session, tied)
    told = session.scalars(select(Notice).where(Notice.recipient_org_id == owner.organisation_id,
                                                Notice.msgid.like("%conflict of interest%"))).all()
    assert len(told) == 2
    # A new request never reaches the tied valuer, even on an asset it could otherwise value.
    with pytest.raises(Conflict):
        experts.request_consultation(session, owner, asset_id=asset.id, question="?", now=NOW,
                                     expert_id=experts.own_profile(session, tied).id)
    assert experts.request_consultation(session, owner, asset_id=asset.id, question="?", now=NOW).expert.user_id \
        == other.id
    # With no other free expert the waiting consultation is closed.
    conflicts.declare_conflict(session, other, tied_org_id=owner.organisation_id, asset_id=None, reason="亲属",
                               whole_agency=True, now=NOW + timedelta(hours=2))
    session.refresh(direct)
    assert direct.status is ConsultationStatus.CLOSED
