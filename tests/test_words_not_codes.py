"""Words, not codes: pages that show a value by its label (shares of a loss, rate kinds, a patent's import source,
the bulletin's Atom summary, the review checklist) in the reader's language, never the stored key."""

from __future__ import annotations

from market.accounts.models import Role
from market.ip.models import IpAsset, IpKind, LegalStatus, PledgeState
from tests.conftest import NOW
from tests.language import leaks, visible_text

PLAN = {"loan_amount": "4000000", "annual_rate": "0.05", "benchmark_rate": "0.0435", "term_months": "12",
        "guarantee_coverage": "0.2", "guarantee_premium": "20000", "insurance_coverage": "0", "insurance_premium": "0",
        "signed_on": "2026-11-28"}


def test_plan_shares_and_rate_kinds_are_labels(client, session, login_as):
    from sqlalchemy import select

    from market.policy.models import ReferenceRate

    login_as(Role.STAFF)
    html = client.post("/plans", data=PLAN).get_data(as_text=True)
    assert "分担" in html
    for code in ("government", "guarantor", "enterprise", "loss"):
        assert f": {code}" not in html
    assert "政府（风险补偿资金）" in html
    rates = visible_text(client.get("/loans/rates").get_data(as_text=True))
    assert "lpr_1y" not in rates and "pbc_benchmark_1y" not in rates
    sources = [s for s in session.scalars(select(ReferenceRate.source)) if s]  # typed data, one language
    assert not leaks(rates, "zh_CN", sources)


def test_imported_patent_names_its_data_file_in_words(client, session, login_as):
    login_as(Role.BANK)
    asset = IpAsset(kind=IpKind.INVENTION, application_number="2016100000017", title="一种导入的专利",
                    legal_status=LegalStatus.GRANTED, pledge_state=PledgeState.FREE, source="import:cn_titles.csv",
                    created_at=NOW, updated_at=NOW)
    session.add(asset)
    session.commit()
    text = visible_text(client.get(f"/patents/{asset.id}").get_data(as_text=True))
    assert "由数据文件 cn_titles.csv 导入" in text and "import:" not in text


def test_patent_markup_becomes_plain_sub_and_superscripts(client, session, login_as):
    from market.ip.importer import import_bytes
    from market.ip.service import clean_title

    assert clean_title("低温脱除NO<sub>x</sub>、Hg<sup>0</sup>和VOCs") == "低温脱除NOₓ、Hg⁰和VOCs"
    assert clean_title("<b>粗体</b>的<i>标题</i>") == "粗体的标题"
    csv = ("publication_number,kind_code,title,ipc_subclasses\n"
           "CN109999999B,B,一种Al<sub>7</sub>O<sub>3</sub>N<sub>5</sub>复合耐火材料,C04B\n").encode()
    report = import_bytes(session, None, csv, "rows.csv", NOW)
    assert report.created == 1, report.rejected
    asset = session.get(IpAsset, report.asset_ids[0])
    assert asset.title == "一种Al₇O₃N₅复合耐火材料"
    session.commit()
    login_as(Role.BANK)
    html = client.get(f"/patents/{asset.id}").get_data(as_text=True)
    assert "Al₇O₃N₅" in html and "&lt;sub&gt;" not in html


def test_the_audit_log_names_people_not_logins(client, session, factory, login_as):
    """The staff audit log and a patent's history name the person who acted by real name and organisation (the
    login stays in the cell's title, and the log can still be filtered by it)."""
    from market.accounts.models import OrgKind, OrgStatus
    from market.accounts.service import decide_organisation

    applicant = factory.org(OrgKind.BANK, name="重庆审计名称银行", status=OrgStatus.PENDING)
    decider = factory.user(Role.STAFF, name="李审核")
    decide_organisation(session, decider, applicant.id, approve=True, reason=None, now=NOW)
    session.commit()
    login_as(Role.STAFF)
    page = client.get(f"/staff/audit?entity_type=organisation&entity_id={applicant.id}").get_data(as_text=True)
    text = visible_text(page)
    assert f"李审核 · {decider.organisation.name}" in text
    assert decider.email not in text
    assert f'title="{decider.email}"' in page
