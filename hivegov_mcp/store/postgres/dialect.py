"""PostgreSQL's dialect (see hivegov_mcp.store.dialect for what each field means)."""

from __future__ import annotations

from hivegov_mcp.store.dialect import Dialect
from hivegov_mcp.store.postgres.migrations import LOG_GUARDS

POSTGRES = Dialect(
    name="postgresql",
    placeholder="%s",
    named_format="%({})s",
    returning_id=" RETURNING id",
    no_index="",  # the planner takes no such hint: its statistics choose
    stored_text_format="{0}",  # PostgreSQL's text is always UTF-8: read as stored
    json_has_format=(
        "EXISTS (SELECT 1 FROM jsonb_array_elements_text({column}::jsonb) AS r(value) WHERE r.value = {param})"
    ),
    triggers=(
        "SELECT t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
    ),
    log_guards=LOG_GUARDS,
)
