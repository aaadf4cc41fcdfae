"""Whether a notice was read is kept per person: a notice to an organisation or to every staff member stays new for
each of them until that person reads it; two marks at the same moment keep one row and never fail."""

from __future__ import annotations

import pytest

from market.accounts.models import OrgKind, Role
from market.db import db
from market.notices import service
from market.notices.models import NoticeRead
from tests.conftest import NOW, in_threads, login
from tests.races import TARGETS, count, private_app, widen_window


def test_one_officer_reading_an_organisation_notice_leaves_it_new_for_the_other(app, session, factory, client):
    bank = factory.org(OrgKind.BANK)
    first, second = factory.user(Role.BANK, org=bank), factory.user(Role.BANK, org=bank)
    notice = service.notify(session, msgid="Your need was published.", now=NOW, org_id=bank.id)
    staff_a, staff_b = factory.user(Role.STAFF), factory.user(Role.STAFF)
    to_staff = service.notify(session, msgid="Your need was published.", now=NOW, role="staff")
    session.commit()
    unread = {u: service.unread_count(session, u) for u in (first, second, staff_a, staff_b)}

    login(client, first)
    assert client.post(f"/notices/{notice.id}/read").status_code == 302
    assert client.post(f"/notices/{notice.id}/read").status_code == 302  # again: still read, one row
    service.mark_read(session, staff_a, to_staff.id, NOW)
    session.commit()

    assert service.unread_count(session, first) == unread[first] - 1
    assert service.unread_count(session, second) == unread[second]
    assert service.unread_count(session, staff_a) == unread[staff_a] - 1
    assert service.unread_count(session, staff_b) == unread[staff_b]
    assert service.read_ids(session, second, [notice]) == set()

    with app.test_client() as other:
        login(other, second)
        page = other.get("/notices/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f'action="/notices/{notice.id}/read"' in page  # still new for the second officer: a read button
    assert f'action="/notices/{notice.id}/read"' not in client.get("/notices/").get_data(as_text=True)
    assert service.mark_all_read(session, second, NOW) == unread[second]
    session.commit()
    assert service.unread_count(session, second) == 0
    assert session.query(NoticeRead).filter_by(notice_id=notice.id).count() == 2


@pytest.mark.parametrize("target", TARGETS)
def test_two_marks_at_once_keep_one_row(make_app, target, monkeypatch):
    app = private_app(make_app, target)
    from market.accounts.models import Organisation, OrgStatus, User
    from market.security import hash_password

    with app.app_context():
        org = Organisation(kind=OrgKind.BANK, name="并发已读银行", credit_code="91500000MA5U000R1X",
                           status=OrgStatus.VERIFIED, created_at=NOW, verified_at=NOW)
        db.session.add(org)
        db.session.flush()
        user = User(email="reader@example.cn", name="读者", role=Role.BANK, organisation_id=org.id,
                    password_hash=hash_password("x" * 12), locale="zh_CN", active=True, session_version=1,
                    created_at=NOW)
        db.session.add(user)
        db.session.flush()
        notice_id = service.notify(db.session, msgid="Your need was published.", now=NOW, org_id=org.id).id
        user_id = user.id
        db.session.commit()
    widen_window(monkeypatch, service, "read_ids", 2)  # both checks see "unread" before either writes
    errors: list[BaseException] = []

    def mark():
        try:
            with app.app_context():
                service.mark_read(db.session, db.session.get(User, user_id), notice_id, NOW)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    in_threads(mark, [()] * 2, timeout=30)
    assert errors == []
    assert count(app, NoticeRead, NoticeRead.notice_id == notice_id) == 1
