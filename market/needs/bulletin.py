"""The periodic bulletin (定期发布): each edition lists the needs newly published in its period, kept as they were
published, and is offered as a web page, CSV and an Atom feed."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from xml.etree import ElementTree as ET

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.audit.service import record
from market.errors import Conflict, NotFound
from market.i18n import money, percent
from market.needs.labels import kind_label
from market.needs.models import Bulletin, Need, NeedStatus
from market.sanitize import spreadsheet_safe, strip_controls

ATOM_NS = "http://www.w3.org/2005/Atom"
CSV_COLUMNS = ["need_id", "title", "enterprise", "amount", "term_months", "max_rate", "industry_code",
               "district_code", "ip_kinds", "ipc_classes", "published_at"]


def _entry(need: Need) -> dict:
    return {
        "need_id": need.id, "title": need.title, "enterprise": need.org.name, "amount": str(need.amount),
        "term_months": need.term_months, "max_rate": str(need.max_rate), "industry_code": need.industry_code,
        "district_code": need.district_code, "ip_kinds": ",".join(need.ip_kinds or []),
        "ipc_classes": ",".join(need.ipc_classes or []), "published_at": need.published_at.isoformat(),
        "purpose": need.purpose,
    }


def publish_bulletin(session: Session, now: datetime, until: date | None = None, days: int = 7) -> Bulletin:
    """A new edition covering [end of the last edition (or `days` before `until`), `until`) — `until` is
    today by default, so an edition covers whole days. Refused when the period is empty."""
    end = until or now.date()
    last = session.scalar(select(Bulletin).order_by(Bulletin.number.desc()).limit(1))
    start = last.period_end if last is not None else end - timedelta(days=days)
    if start >= end:
        raise Conflict("A bulletin for this period has already been published.")
    needs = session.scalars(select(Need).where(
        Need.published_at >= datetime.combine(start, datetime.min.time()),
        Need.published_at < datetime.combine(end, datetime.min.time()),
        Need.status != NeedStatus.WITHDRAWN,
    ).order_by(Need.published_at, Need.id)).all()
    number = (session.scalar(select(func.max(Bulletin.number))) or 0) + 1
    bulletin = Bulletin(number=number, period_start=start, period_end=end, need_ids=[n.id for n in needs],
                        entries=[_entry(n) for n in needs], published_at=now)
    session.add(bulletin)
    session.flush()
    record(session, actor=None, action="bulletin.published", entity_type="need_bulletin", entity_id=bulletin.id,
           now=now, after={"number": number, "period_start": start, "period_end": end, "needs": len(needs)})
    return bulletin


def get_bulletin(session: Session, number: int) -> Bulletin:
    bulletin = session.scalar(select(Bulletin).where(Bulletin.number == number))
    if bulletin is None:
        raise NotFound("This bulletin does not exist.")
    return bulletin


def bulletin_csv(bulletin: Bulletin) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({key: spreadsheet_safe(value) for key, value in entry.items()} for entry in bulletin.entries)
    return "\ufeff" + out.getvalue()  # BOM: spreadsheet programs then read the Chinese correctly


def _text(parent, tag: str, text: str, **attrs) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    element.text = strip_controls(text)  # editions published before input was cleaned stay readable
    return element


def _stamp(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def entry_summary(entry: dict) -> str:
    """One bulletin entry in words of the reader's language: amount in 万/亿, term, highest rate, IP kinds, purpose."""
    kinds = " / ".join(kind_label(k) for k in (entry.get("ip_kinds") or "").split(",") if k)
    return gettext("%(amount)s · %(months)s months · rate at most %(rate)s · %(kinds)s · %(purpose)s",
                   amount=money(entry["amount"]), months=entry["term_months"], rate=percent(entry["max_rate"]),
                   kinds=kinds or "—", purpose=entry.get("purpose") or "")


def bulletin_atom(bulletin: Bulletin, base_url: str, title: str, need_url) -> bytes:
    """An Atom 1.0 feed of one edition: one entry per need. `need_url(id)` gives each need's address."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(feed, "id", f"{base_url}#bulletin-{bulletin.number}")
    _text(feed, "title", title)
    _text(feed, "updated", _stamp(bulletin.published_at))
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", {"rel": "self", "href": base_url})
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "IP Pledge Market")
    for entry in bulletin.entries:
        item = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(item, "id", f"{base_url}#need-{entry['need_id']}")
        _text(item, "title", f"{entry['title']} · {entry['enterprise']}")
        _text(item, "updated", _stamp(datetime.fromisoformat(entry["published_at"])))
        ET.SubElement(item, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": need_url(entry["need_id"])})
        _text(item, "summary", entry_summary(entry))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
