"""The bulletin (page, CSV, Atom), the escalate and publish commands, and funding from an accepted offer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest

from market.accounts.models import Role
from market.errors import Conflict, Forbidden
from market.needs import bulletin, docking
from market.needs.models import NeedStatus


def test_bulletin_editions_page_csv_atom(client, session, kit):
    need = kit.published_need()
    need.published_at = datetime(2026, 11, 25, 10)
    first = bulletin.publish_bulletin(session, datetime(2026, 11, 28, 1), until=date(2026, 11, 28))
    assert first.number >= 1 and need.id in first.need_ids
    assert first.period_end == date(2026, 11, 28)
    with pytest.raises(Conflict):
        bulletin.publish_bulletin(session, datetime(2026, 11, 28, 2), until=date(2026, 11, 28))
    need.title = "改名后"  # an edition keeps the need as it was published
    second = bulletin.publish_bulletin(session, datetime(2026, 12, 5, 1), until=date(2026, 12, 5))
    assert second.number == first.number + 1 and second.period_start == first.period_end
    assert need.id not in second.need_ids

    page = client.get(f"/bulletins/{first.number}").get_data(as_text=True)
    assert "锂电池产线扩产" in page and "改名后" not in page
    response = client.get(f"/bulletins/{first.number}.csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.lstrip("\ufeff").startswith("need_id,title,enterprise,amount") and "3000000.00" in text
    response = client.get(f"/bulletins/{first.number}.atom")
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    entries = root.findall("a:entry", ns)
    assert any(e.find("a:title", ns).text.startswith("锂电池产线扩产") for e in entries)
    assert all(e.find("a:updated", ns).text.endswith("Z") for e in entries)
    assert client.get("/bulletins/99999").status_code == 404


def test_bulletin_publish_command(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bulletin", "publish", "--until", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "Bulletin No. 1" in result.output
    again = runner.invoke(args=["bulletin", "publish", "--until", "2026-11-30"])
    assert again.exit_code != 0 and "already been published" in again.output


def test_escalate_command_runs(make_app):
    app = make_app()
    result = app.test_cli_runner().invoke(args=["needs", "escalate", "--days", "5"])
    assert result.exit_code == 0, result.output
    assert "Escalated 0 need(s)" in result.output


def test_mark_funded_after_an_accepted_offer(session, kit, factory):
    ent = kit.enterprise()
    need = kit.published_need(ent)
    bank, other = factory.user(Role.BANK), factory.user(Role.BANK)
    with pytest.raises(Conflict):
        docking.mark_funded(session, bank, need.id, datetime(2026, 12, 1))
    offer = docking.make_offer(session, bank, need.id, Decimal("3000000"), Decimal("0.05"), 12,
                               datetime(2026, 12, 1))
    docking.accept_offer(session, ent, offer.id, datetime(2026, 12, 1) + timedelta(hours=1))
    with pytest.raises(Forbidden):
        docking.mark_funded(session, other, need.id, datetime(2026, 12, 2))
    docking.mark_funded(session, bank, need.id, datetime(2026, 12, 2))
    assert need.status is NeedStatus.FUNDED
