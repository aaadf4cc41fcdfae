"""Sign-up, log-in, password change and organisation verification, through the pages as a person uses them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from market.accounts.models import Organisation, OrgStatus, Role, User
from market.audit.models import AuditEntry
from market.demo import credit_code
from tests.conftest import PASSWORD, login

VALID_CODE = credit_code("91500112MA5UA0001")


def signup_data(**over):
    data = {
        "role": "enterprise", "name": "张三", "email": "zhang@example.cq", "password": "Chongqing2026x",
        "confirm": "Chongqing2026x", "org_name": "重庆测试科技有限公司", "credit_code": VALID_CODE,
        "district_code": "500112", "industry_code": "38", "contact_phone": "023-6666 8888",
    }
    data.update(over)
    return data


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_signup_creates_pending_org_then_the_person_logs_in(client, session):
    response = client.post("/signup", data=signup_data())
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    user = session.scalar(select(User).where(User.email == "zhang@example.cq"))
    assert user.organisation.status is OrgStatus.PENDING
    assert user.organisation.credit_code == VALID_CODE
    assert "注册申请已收到" in client.get("/login").get_data(as_text=True)
    login(client, user, "Chongqing2026x")
    page = client.get("/workspace").get_data(as_text=True)
    assert "企业工作台" in page and "等待交易所审核" in page
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"organisation.registered", "user.registered"} <= actions


@pytest.mark.parametrize(
    "override, message",
    [
        ({"credit_code": VALID_CODE[:-1] + ("0" if VALID_CODE[-1] != "0" else "1")}, "统一社会信用代码无效"),
        ({"password": "short1", "confirm": "short1"}, "密码至少需要 10 个字符"),
        ({"password": "onlyletterspassword", "confirm": "onlyletterspassword"}, "密码必须同时包含字母和数字"),
        ({"password": "abcd123456", "confirm": "abcd123456"}, "该密码太容易被猜到"),
        ({"password": "qwerty1234", "confirm": "qwerty1234"}, "该密码太容易被猜到"),
        ({"password": "zhangsan1990", "confirm": "zhangsan1990"}, "拼音姓名加年份或其他数字很容易被猜到"),
        ({"password": "Wang.XiaoMing-88", "confirm": "Wang.XiaoMing-88"}, "拼音姓名加年份或其他数字很容易被猜到"),
        ({"confirm": "different-2026"}, "两次输入的密码不一致"),
        ({"org_name": "长" * 121}, "120"),
        ({"email": "not-an-email"}, "电子邮件"),
    ],
)
def test_signup_refusals_are_clear_and_save_nothing(client, session, override, message):
    users, orgs = count(session, User), count(session, Organisation)
    response = client.post("/signup", data=signup_data(**override))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body, body[body.find("<main>"):body.find("</main>")]
    assert (count(session, User), count(session, Organisation)) == (users, orgs)


def test_signup_does_not_tell_whether_an_address_is_registered(client, session, factory):
    """A new address and a registered one get the same answer; the registered account is left as it was (the attempt
    is audited on it) and nothing else is created."""
    owner = factory.user(Role.BANK, email="zhang@example.cq")
    taken = client.post("/signup", data=signup_data())
    taken_page = client.get("/login").get_data(as_text=True)
    assert "该电子邮件地址已注册" not in taken_page
    assert session.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.name == "重庆测试科技有限公司")) == 0
    assert owner.password_hash == session.get(User, owner.id).password_hash and owner.role is Role.BANK
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(owner.id))).all() == [
        "user.signup_for_existing_email"]
    free = client.post("/signup", data=signup_data(email="new@example.cq", org_name="重庆另一科技有限公司",
                                                   credit_code=credit_code("91500112MA5UA0002")))
    free_page = client.get("/login").get_data(as_text=True)
    assert (taken.status_code, taken.headers["Location"]) == (free.status_code, free.headers["Location"])

    def flashes(page):
        return page[page.find('<ul class="flashes">'):page.find("</ul>", page.find('<ul class="flashes">'))]

    assert flashes(taken_page) == flashes(free_page) and "注册申请已收到" in flashes(free_page)


def test_bidder_may_sign_up_as_a_person(client, session):
    response = client.post("/signup", data=signup_data(role="bidder", org_name="", credit_code=""))
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "zhang@example.cq"))
    assert user.organisation is None and user.can_act


def test_login_wrong_password_same_message(client, factory):
    user = factory.user(Role.BANK)
    for email, password in [(user.email, "wrong-password-1"), ("nobody@example.cq", PASSWORD)]:
        page = client.post("/login", data={"email": email, "password": password}).get_data(as_text=True)
        assert "电子邮件或密码错误" in page


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_lands_on_its_workspace_in_chinese_and_switches_to_english(client, factory, role):
    user = factory.user(role)
    response = login(client, user)
    assert response.headers["Location"].endswith("/workspace")
    zh = client.get("/workspace").get_data(as_text=True)
    assert 'lang="zh-CN"' in zh and "工作台" in zh
    client.post("/language/en", data={"next": "/workspace"})
    en = client.get("/workspace").get_data(as_text=True)
    assert 'lang="en"' in en and "workspace" in en
    assert user.locale == "en"  # remembered per user


def test_language_is_remembered_for_the_user_across_sessions(app, client, factory):
    user = factory.user(Role.BANK, locale="en")
    login(client, user)
    assert 'lang="en"' in client.get("/workspace").get_data(as_text=True)


def test_language_picked_before_log_in_is_kept_for_the_account(app, client, session, factory):
    from sqlalchemy import select

    from market.audit.models import AuditEntry

    user = factory.user(Role.ENTERPRISE)  # saved language: Chinese
    client.post("/language/en", data={"next": "/login"})
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    login(client, user)
    assert 'lang="en"' in client.get("/workspace").get_data(as_text=True)
    assert user.locale == "en"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.locale_changed",
                                                     AuditEntry.entity_id == str(user.id))).one()
    assert entry.before == {"locale": "zh_CN"} and entry.after == {"locale": "en"}
    # Someone else logging in later on the same browser, without picking, gets their own saved language.
    client.post("/logout")
    other = factory.user(Role.BANK)
    login(client, other)
    assert 'lang="zh-CN"' in client.get("/workspace").get_data(as_text=True)
    assert other.locale == "zh_CN"


def test_password_change_logs_out_other_sessions(app, client, factory):
    user = factory.user(Role.ENTERPRISE)
    login(client, user)
    other = app.test_client()
    login(other, user)
    response = client.post("/account/password", data={"current": PASSWORD, "new": "New-password-2027",
                                                      "confirm": "New-password-2027"})
    assert response.status_code == 302
    assert client.get("/workspace").status_code == 200
    assert other.get("/workspace").status_code == 302  # the other session was logged out


def test_staff_verifies_and_rejects_with_reason(client, session, factory, login_as):
    pending = factory.org("enterprise", status=OrgStatus.PENDING)
    applicant = factory.user(Role.ENTERPRISE, org=pending)
    login_as(Role.STAFF)
    queue = client.get("/staff/organisations").get_data(as_text=True)
    assert pending.name in queue
    response = client.post(f"/staff/organisations/{pending.id}", data={"reject": "1", "reason": ""})
    assert "请填写驳回理由" in response.get_data(as_text=True)
    assert pending.status is OrgStatus.PENDING
    client.post(f"/staff/organisations/{pending.id}", data={"reject": "1", "reason": "营业执照不清晰"})
    assert pending.status is OrgStatus.REJECTED
    client.post(f"/staff/organisations/{pending.id}", data={"approve": "1"})
    assert pending.status is OrgStatus.VERIFIED and applicant.can_act
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(pending.id),
                                                       AuditEntry.entity_type == "organisation")).all()
    assert [e.action for e in entries] == ["organisation.rejected", "organisation.verified"]
    assert entries[0].before["status"] == "pending" and entries[0].after["status"] == "rejected"


def test_audit_entries_cannot_be_changed(session, factory):
    from market.audit.models import AppendOnlyViolation
    from market.audit.service import record
    from tests.conftest import NOW

    entry = record(session, actor=None, action="x.y", entity_type="x", entity_id=1, now=NOW)
    session.flush()
    entry.action = "tampered"
    with pytest.raises(AppendOnlyViolation):
        session.flush()


def test_audit_viewer_shows_what_changed(client, session, factory, login_as):
    pending = factory.org("enterprise", status=OrgStatus.PENDING)
    login_as(Role.STAFF)
    client.post(f"/staff/organisations/{pending.id}", data={"reject": "1", "reason": "材料不全"})
    page = client.get(f"/staff/audit?entity_type=organisation&entity_id={pending.id}").get_data(as_text=True)
    # In words, with the recorded code kept in each value's title.
    assert '<del title="pending">等待交易所审核</del> → <ins title="rejected">已驳回</ins>' in page
    assert "材料不全" in page
