"""The search outbox: one mechanism that keeps every search index (patents, needs, …) in step with the database.

The database is the source of truth. Each index declares what it reads (`Watch`: a table, its columns, and which
documents a changed row affects); one SQLAlchemy session hook (`after_flush`, and `do_orm_execute` for bulk
UPDATE/DELETE statements) queues a `search_outbox` row for every document whose inputs an insert, update or delete
touched, in the same transaction as the change. No writer calls an enqueue function.

`drain` applies the rows of one index in id order, reloading each document from the database, and deletes the rows
only after the engine took them; an engine that is down keeps them (counting the attempt), so it never loses a
write. `reindex` rebuilds an index from the database (an alias swap on Elasticsearch) and then drops the rows queued
before the rebuild started (the high-water mark): rows queued during the rebuild stay and are applied by the next
drain.

Every index carries an identity record (its stamp: the database's identity, `DatabaseIdentity`, and the index's
document version), written by `reindex` together with the content. `open_index` checks it the first time a backend
object uses an index: an index built from another database (or an older document shape) is rebuilt from this one.
`search` never answers with an id the database lacks: such ids are deleted from the index and the query runs again,
so `total` agrees with the items; changes still waiting in the outbox are applied first when the engine is up, and
whatever is left is reported as the lag.

What differs between indexes is only the documents: an `OutboxIndex` names the schema, the watches and a
`DocumentBuilder` factory. An area with an index declares it as `OUTBOX_INDEX` in `market/<area>/indexing.py`;
`all_indexes()` finds them in area order, so `market search sync` and `market search reindex` cover every index.

The package, by what each module holds: `models` (the outbox table, the database identity, `enqueue`, `pending`,
`lag`), `indexes` (what an index is: `OutboxIndex`, `Watch`, `DocumentBuilder`, `all_indexes`, and the row loaders
its builders use), `capture` (the session hooks), `backend` (the app's one backend and an index's identity record),
`sync` (`open_index`, `drain`, `reindex`, `quick_drain`) and `searching` (`search`, `catch_up`).
"""

from market.outbox import capture as _capture  # noqa: F401 - registers the session hooks with any use of the outbox
