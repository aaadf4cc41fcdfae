"""The app's one search backend and an index's identity record (the database it was built from, its version)."""

from __future__ import annotations

import hashlib
import threading

from flask import Flask, current_app
from sqlalchemy.orm import Session

from market.outbox.indexes import OutboxIndex
from market.outbox.models import database_identity
from search import Schema, SearchBackend, make_backend

_lock = threading.RLock()


def init_app(app: Flask) -> None:
    app.extensions.setdefault("search", None)


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The app's one backend for every index (created on first use; no I/O before). Elasticsearch when configured."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get("search")
    if backend is None:
        with _lock:
            backend = app.extensions.get("search")
            if backend is None:
                prefix = app.config.get("SEARCH_INDEX_PREFIX") or "market"
                if not prefix.endswith(("-", "_")):
                    prefix += "-"
                backend = make_backend(app.config.get("ELASTICSEARCH_URL"), app.config["SEARCH_EMBEDDED_PATH"],
                                       index_prefix=prefix)
                app.extensions["search"] = backend
    return backend


def ensure_ready(backend: SearchBackend, schema: Schema) -> None:
    """Create the index when missing (once per backend object and index; raises SearchUnavailable when down).
    For an index without a database behind it; the app's indexes are opened with `open_index`."""
    if schema.name in ready_indexes(backend):
        return
    backend.ensure_index(schema)
    ready_indexes(backend).add(schema.name)


def ready_indexes(backend: SearchBackend) -> set[str]:
    """Names of the indexes this backend object has created or found (and checked)."""
    ready = getattr(backend, "_outbox_ready", None)
    if ready is None:
        ready = set()
        backend._outbox_ready = ready  # type: ignore[attr-defined]
    return ready


def stamp_for(session: Session, index: OutboxIndex) -> dict[str, str]:
    """The identity record an index built from this database now carries: the database's identity and the
    version of the documents (the index's `version` and its schema)."""
    digest = hashlib.sha256(index.schema.fingerprint().encode()).hexdigest()[:12]
    return {"database": database_identity(session), "version": f"{index.version}:{digest}"}

