"""The bulletin's Atom summary is in words of the reader's language (amount in 万, the rate as a percentage, IP kinds
by name), never "≤0.060000 · invention"."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime


def test_bulletin_atom_summary_in_words(client, session, kit):
    from market.needs import bulletin

    need = kit.published_need()
    need.published_at = datetime(2026, 11, 25, 10)
    edition = bulletin.publish_bulletin(session, datetime(2026, 11, 28, 1), until=date(2026, 11, 28))
    session.commit()
    root = ET.fromstring(client.get(f"/bulletins/{edition.number}.atom").data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    summaries = [e.find("a:summary", ns).text for e in root.findall("a:entry", ns)]
    mine = next(s for s in summaries if "购置涂布设备" in s)
    assert "300万" in mine and "6.00%" in mine and "发明专利" in mine
    assert "invention" not in mine and "0.060000" not in mine
