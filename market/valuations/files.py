"""Report files: PDF only (checked by its first bytes, not just the name), at most 5 MB, stored under the
instance folder with a random name and served only through the access check of the report."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from market.errors import InvalidInput

MAX_REPORT_BYTES = 5 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


def check_pdf(data: bytes, filename: str) -> None:
    if len(data) > MAX_REPORT_BYTES:
        raise InvalidInput("The report file must be at most 5 MB.")
    if not filename.lower().endswith(".pdf"):
        raise InvalidInput("The report file must be a PDF.")
    if not data.startswith(PDF_MAGIC):
        raise InvalidInput("This file is not a PDF: its content does not start like a PDF document.")


def store_pdf(upload_dir: str | os.PathLike, data: bytes) -> str:
    """Write the bytes under a fresh random name; returns the key (the name without the folder)."""
    folder = Path(upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16)
    partial = folder / f".{key}.part"
    partial.write_bytes(data)
    partial.replace(folder / f"{key}.pdf")
    return key


def stored_path(upload_dir: str | os.PathLike, key: str) -> Path:
    if not key or not all(c in "0123456789abcdef" for c in key):
        raise ValueError("bad file key")
    return Path(upload_dir) / f"{key}.pdf"


def safe_download_name(filename: str | None, fallback: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return name if name.lower().endswith(".pdf") and len(name) <= 200 else fallback


_REPLACED = "valuation_files_replaced"


def delete_after_commit(session: Session, upload_dir: str | os.PathLike, key: str | None) -> None:
    """The file `key` was replaced: delete it from disk once the replacement is committed (never before: a
    rollback keeps the old file in use)."""
    if key:
        session.info.setdefault(_REPLACED, []).append(stored_path(upload_dir, key))


@event.listens_for(Session, "after_commit")
def _delete_replaced(session: Session) -> None:
    for path in session.info.pop(_REPLACED, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_replaced(session: Session) -> None:
    session.info.pop(_REPLACED, None)
