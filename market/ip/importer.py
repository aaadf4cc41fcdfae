"""Bulk import of patents from the real CSV formats in market/data and from JSON Lines of the API patent schema.

Formats (detected from the header / extension):
* ``cn_patents_title_ipc.csv``: publication_number, kind_code (A invention publication, B granted invention,
  U utility model), title, ipc_subclasses (``|``-separated);
* ``cn_patents_legal_status.csv``: the CNIPA search export with Chinese ``patent_type`` and ``legal_status``;
* ``.jsonl``: one object a line with the fields of ``GET /api/v1/patents`` items (publication_number,
  application_number, title, kind, ipc, legal_status, …).

Every row runs in its own savepoint: a bad row is reported (line number and reason) and leaves nothing behind.
The import commits in batches, so the market keeps trading while a large file goes in.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from market.accounts.models import Organisation, User
from market.errors import DomainError, InvalidInput
from market.ip.models import IpKind, LegalStatus
from market.ip.service import AssetData, upsert_patent

# An import commits after this many rows, or this many seconds, whichever comes first (see import_patents).
BATCH_ROWS = 500
BATCH_SECONDS = 1.0
# SQLite's lock is not fair: a writer waiting in busy_timeout polls (every 100 ms at most) and an importer that
# begins its next batch at once wins every time. After each commit on SQLite the importer leaves this long gap.
SQLITE_YIELD_SECONDS = 0.15

KIND_CODES = {
    "A": (IpKind.INVENTION, LegalStatus.APPLICATION),
    "B": (IpKind.INVENTION, LegalStatus.GRANTED),
    "C": (IpKind.INVENTION, LegalStatus.GRANTED),  # granted invention before 2007
    "U": (IpKind.UTILITY_MODEL, LegalStatus.GRANTED),
    "Y": (IpKind.UTILITY_MODEL, LegalStatus.GRANTED),  # utility model before 2007
    "S": (IpKind.DESIGN, LegalStatus.GRANTED),
}
PATENT_TYPES = {
    "发明申请": IpKind.INVENTION,
    "发明专利": IpKind.INVENTION,
    "发明授权": IpKind.INVENTION,
    "实用新型": IpKind.UTILITY_MODEL,
    "外观设计": IpKind.DESIGN,
}
# CNIPA legal-status wording → our status. The raw text is always kept in `legal_status_raw`.
LEGAL_STATUS = {
    "授权": LegalStatus.GRANTED,
    "发明专利权授予": LegalStatus.GRANTED,
    "实用新型专利权授予": LegalStatus.GRANTED,
    "外观设计专利权授予": LegalStatus.GRANTED,
    "专利权的终止": LegalStatus.LAPSED,
    "专利权的终止(未缴年费)": LegalStatus.LAPSED,
    "专利权的无效宣告": LegalStatus.INVALIDATED,
    "专利权全部无效": LegalStatus.INVALIDATED,
    "专利权的期限届满": LegalStatus.EXPIRED,
    "实质审查的生效": LegalStatus.APPLICATION,
    "发明专利申请公布": LegalStatus.APPLICATION,
    "公开": LegalStatus.APPLICATION,
    "公布": LegalStatus.APPLICATION,
    "发明专利申请公布后的驳回": LegalStatus.REJECTED,
    "驳回": LegalStatus.REJECTED,
    "发明专利申请公布后的撤回": LegalStatus.WITHDRAWN,
    "发明专利申请公布后的视为撤回": LegalStatus.WITHDRAWN,
    "撤回": LegalStatus.WITHDRAWN,
    "视为撤回": LegalStatus.WITHDRAWN,
    # A transfer or a change of the patentee's name is recorded on a right (kept as granted, raw text kept).
    "专利申请权、专利权的转移": LegalStatus.GRANTED,
    "专利权人的姓名或者名称、地址的变更": LegalStatus.GRANTED,
    # Says nothing about the right itself.
    "著录事项变更": LegalStatus.UNKNOWN,
    "无数据": LegalStatus.UNKNOWN,
}


def map_legal_status(raw: str) -> LegalStatus:
    raw = (raw or "").strip()
    if raw in LEGAL_STATUS:
        return LEGAL_STATUS[raw]
    if "驳回" in raw:
        return LegalStatus.REJECTED
    if "撤回" in raw:
        return LegalStatus.WITHDRAWN
    if "终止" in raw:
        return LegalStatus.LAPSED
    if "无效" in raw:
        return LegalStatus.INVALIDATED
    if "届满" in raw:
        return LegalStatus.EXPIRED
    if "授予" in raw or "授权" in raw:
        return LegalStatus.GRANTED
    raise InvalidInput("Unknown legal status %(status)s.", status=raw)


def parse_date(text: str | None) -> date | None:
    """``2017.02.27``, ``20170227``, ``2017-02-27``; empty or 无数据 → None."""
    text = (text or "").strip()
    if not text or text == "无数据":
        return None
    digits = text.replace(".", "").replace("-", "").replace("/", "")
    if len(digits) == 8 and digits.isdigit():
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            pass
    raise InvalidInput("The date %(value)s is not valid.", value=text)


def _title_ipc_row(row: dict) -> AssetData:
    number = (row.get("publication_number") or "").strip()
    code = (row.get("kind_code") or "").strip().upper() or number[-1:].upper()
    if code not in KIND_CODES:
        raise InvalidInput("Unknown kind code %(code)s.", code=code)
    if number and not number.upper().endswith(code):
        raise InvalidInput("The kind code does not match the publication number.")
    kind, status = KIND_CODES[code]
    ipc = [c for c in (row.get("ipc_subclasses") or "").split("|") if c.strip()]
    return AssetData(kind=kind, title=row.get("title") or "", publication_number=number or None, ipc_codes=ipc,
                     legal_status=status)


def _legal_status_row(row: dict) -> AssetData:
    ptype = (row.get("patent_type") or "").strip()
    if ptype not in PATENT_TYPES:
        raise InvalidInput("Unknown patent type %(type)s.", type=ptype)
    kind = PATENT_TYPES[ptype]
    raw = (row.get("legal_status") or "").strip()
    status = map_legal_status(raw)
    filing = parse_date(row.get("application_date"))
    pub_or_grant = parse_date(row.get("publication_or_grant_date"))
    status_date = parse_date(row.get("legal_status_date"))
    grant = None
    publication = pub_or_grant
    if kind is IpKind.INVENTION:
        if raw in ("授权", "发明专利权授予"):
            grant = status_date
    elif status not in (LegalStatus.APPLICATION, LegalStatus.REJECTED, LegalStatus.WITHDRAWN):
        # Utility models and designs are published only when granted: that date is the grant date.
        grant = pub_or_grant
    if grant and filing and grant < filing:
        grant = None
    return AssetData(
        kind=kind, title=row.get("title") or "", application_number=(row.get("application_number") or None),
        publication_number=(row.get("publication_number") or None), applicants=row.get("applicants") or None,
        inventors=row.get("inventors") or None, filing_date=filing, publication_date=publication, grant_date=grant,
        legal_status=status, legal_status_raw=raw[:60] or None, legal_status_date=status_date,
    )


def _json_row(obj: dict) -> AssetData:
    if not isinstance(obj, dict):
        raise InvalidInput("Each line must be a JSON object.")
    try:
        kind = IpKind(obj.get("kind") or "")
    except ValueError:
        raise InvalidInput("Unknown kind %(kind)s.", kind=str(obj.get("kind"))) from None
    raw_status = obj.get("legal_status") or "application"
    try:
        status = LegalStatus(raw_status)
    except ValueError:
        status = map_legal_status(str(raw_status))
    ipc = obj.get("ipc") or obj.get("ipc_codes") or []
    if isinstance(ipc, str):
        ipc = [c for c in ipc.replace(";", "|").replace(",", "|").split("|")]
    if not isinstance(ipc, list):
        raise InvalidInput("ipc must be a list.")
    applicants = obj.get("applicants")
    if isinstance(applicants, list):
        applicants = " ; ".join(map(str, applicants))
    return AssetData(
        kind=kind, title=str(obj.get("title") or ""), application_number=obj.get("application_number") or None,
        publication_number=obj.get("publication_number") or None, abstract=obj.get("abstract") or None,
        ipc_codes=[str(c) for c in ipc], applicants=applicants or None, inventors=obj.get("inventors") or None,
        filing_date=parse_date(obj.get("filing_date")), publication_date=parse_date(obj.get("publication_date")),
        grant_date=parse_date(obj.get("grant_date")), legal_status=status,
        legal_status_raw=(obj.get("legal_status_raw") or None),
        legal_status_date=parse_date(obj.get("legal_status_date")),
    )


Row = tuple[int, Callable[[], AssetData]]


def read_rows(fh: IO[str], name: str) -> tuple[str, int, Iterator[Row]]:
    """(format, number of rows, iterator of (line number, parser)). Parsing errors surface when a parser runs."""
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        lines = [(n, line) for n, line in enumerate(fh, start=1) if line.strip()]

        def json_rows():
            for n, line in lines:
                def parse(line=line):
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InvalidInput("Not valid JSON: %(error)s", error=str(exc)) from None
                    return _json_row(obj)
                yield n, parse

        return "jsonl", len(lines), json_rows()
    reader = csv.DictReader(fh)
    header = set(reader.fieldnames or [])
    if {"publication_number", "kind_code", "title"} <= header:
        fmt, fn = "title_ipc", _title_ipc_row
    elif {"patent_type", "legal_status", "application_number", "title"} <= header:
        fmt, fn = "legal_status", _legal_status_row
    else:
        raise InvalidInput("Unknown file format: the header matches none of the supported patent files.")
    rows = []
    for row in reader:
        rows.append((reader.line_num, row))

    def csv_rows():
        for n, row in rows:
            if None in row:
                def bad():
                    raise InvalidInput("The row has more fields than the header.")
                yield n, bad
            else:
                yield n, (lambda row=row: fn(row))

    return fmt, len(rows), csv_rows()


@dataclass
class ImportReport:
    format: str = ""
    total: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    asset_ids: list[int] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated


def import_patents(
    session: Session, actor: User | None, fh: IO[str], name: str, now: datetime, *,
    owner: Organisation | None = None, progress: Callable[[int], None] | None = None,
    assign: Callable[[AssetData], Organisation | None] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ImportReport:
    """Import every row in its own savepoint (a row is kept whole or not at all).

    `checkpoint` (the caller's commit) is called after every BATCH_ROWS rows or BATCH_SECONDS, whichever comes
    first: on SQLite one transaction for the whole file held the database's only write lock for minutes, and every
    bid and other write waited behind it and failed. The caller commits the last batch."""
    fmt, total, rows = read_rows(fh, name)
    report = ImportReport(format=fmt, total=total)
    source = f"import:{Path(name).name}"[:120]
    in_batch, batch_started = 0, time.monotonic()
    pause = SQLITE_YIELD_SECONDS if session.get_bind().dialect.name == "sqlite" else 0
    for line, parse in rows:
        if checkpoint is not None and in_batch and (
                in_batch >= BATCH_ROWS or time.monotonic() - batch_started >= BATCH_SECONDS):
            checkpoint()
            time.sleep(pause)  # let the writers queued behind this batch go first
            in_batch, batch_started = 0, time.monotonic()
        in_batch += 1
        try:
            with session.begin_nested():
                data = parse()
                row_owner = owner or (assign(data) if assign else None)
                asset, created = upsert_patent(session, actor, data, now, owner=row_owner, source=source)
        except DomainError as exc:
            report.rejected.append((line, exc.message % exc.params if exc.params else exc.message))
        except (SQLAlchemyError, ValueError) as exc:
            report.rejected.append((line, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"))
        else:
            report.asset_ids.append(asset.id)
            if created:
                report.created += 1
            else:
                report.updated += 1
        if progress:
            progress(1)
    return report


def import_file(session: Session, actor, path: str | Path, now: datetime, **kwargs) -> ImportReport:
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return import_patents(session, actor, fh, path.name, now, **kwargs)


def import_bytes(session: Session, actor, data: bytes, name: str, now: datetime, **kwargs) -> ImportReport:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The file must be UTF-8 text.") from None
    return import_patents(session, actor, io.StringIO(text, newline=""), name, now, **kwargs)
