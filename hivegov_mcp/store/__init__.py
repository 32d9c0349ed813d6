"""The store (DESIGN §8, §17): where the governance is kept, behind one interface.

base.py          the contract the service uses: Store, and Transaction as one Protocol per aggregate
values.py        the values a transaction takes and returns (ProposalState, Version, …)
sql/             the SQL, one module per aggregate, the same for both engines
dialect.py       what differs between the engines' SQL (each engine's instance in its package)
rows.py          rows to values and back: the codecs both engines share
search.py        search's bounds and hits (each engine searches in its own search.py)
group_commit.py  the one write path: queued operations, batches, savepoints, cancellation
operations.py    the operation a piece of code runs in (a read or a write), and `drive`
sqlite/          the embedded store: stdlib sqlite3 on a thread per connection, its migrations
postgres/        the store for several instances: psycopg's pool, its migrations, NOTIFY
copy.py          `migrate`: a SQLite governance copied into PostgreSQL
"""
