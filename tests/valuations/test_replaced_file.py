"""A draft report's PDF replaced by a new one is deleted from disk once the change is committed, and only then."""

from __future__ import annotations

import io

from sqlalchemy import select

from market.accounts.models import Role
from market.valuations import files, service
from market.valuations.models import Valuation
from tests.conftest import NOW, login
from tests.factories import PDF, make_asset, vinput


def test_replaced_draft_pdf_is_deleted_from_disk(client, session, factory, uploads):
    owner = factory.user(Role.ENTERPRISE)
    asset = make_asset(session, owner.organisation_id)
    valuer = factory.user(Role.VALUER)
    draft = service.create_valuation(session, valuer, vinput(asset), NOW,
                                     report=service.ReportFile(PDF, "初稿.pdf", uploads))
    session.commit()
    first = files.stored_path(uploads, draft.file_key)
    assert first.exists()
    login(client, valuer)
    response = client.post(f"/valuations/{draft.id}/file", data={"file": (io.BytesIO(PDF + b"%v2\n"), "定稿.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    draft = session.scalar(select(Valuation).where(Valuation.id == draft.id))
    second = files.stored_path(uploads, draft.file_key)
    assert second.read_bytes() == PDF + b"%v2\n"
    assert not first.exists()
    assert sorted(p.name for p in uploads.iterdir()) == [second.name]

    # A replacement that is rolled back leaves the file in use where it is.
    service.attach_report_file(session, valuer, draft.id, service.ReportFile(PDF, "再改.pdf", uploads), NOW)
    session.rollback()
    session.commit()
    assert second.exists()
