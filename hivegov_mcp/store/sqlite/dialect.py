"""SQLite's dialect (see hivegov_mcp.store.dialect for what each field means)."""

from __future__ import annotations

from hivegov_mcp.store.dialect import Dialect
from hivegov_mcp.store.sqlite.migrations import LOG_GUARDS

SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    named_format=":{}",
    returning_id="",  # the cursor's lastrowid is the new id
    no_index="+",  # `+column`: SQLite's planner won't use an index for that condition
    stored_text_format="CAST({0} AS BLOB) AS {0}",  # text that may not be UTF-8 (a tampered row) read as bytes
    json_has_format="EXISTS (SELECT 1 FROM json_each({column}) WHERE value = {param})",
    triggers="SELECT name FROM sqlite_master WHERE type = 'trigger'",
    log_guards=LOG_GUARDS,
)
