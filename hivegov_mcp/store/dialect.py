"""What differs between the engines' SQL, said once per engine. Every statement in
`hivegov_mcp.store.sql` is written against a `Dialect`; nothing rewrites a finished statement.

    placeholder      ?                                  %s
    named(x)         :x                                 %(x)s
    returning_id     (none: the cursor's lastrowid)     RETURNING id
    no_index         + (a unary plus keeps SQLite's     (nothing)
                     planner off an index)
    stored_text(c)   CAST(c AS BLOB) AS c               c
    json_has(c)      json_each(c)                       jsonb_array_elements_text(c::jsonb)
    triggers         sqlite_master                      pg_trigger, in the current schema

The instances are `hivegov_mcp.store.sqlite.dialect.SQLITE` and
`hivegov_mcp.store.postgres.dialect.POSTGRES`. Full-text search differs too much for a dialect
(FTS5 against tsvector): each engine has its own search module.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)
class Dialect:
    name: str
    placeholder: str  # a positional parameter
    named_format: str  # a named parameter, `{}` its name
    returning_id: str  # the end of an INSERT whose new id the caller reads (empty: the engine reports it)
    no_index: str  # before a column: don't use an index on it for this condition (a planner hint)
    stored_text_format: str  # a text column read as stored, `{}` its name (may be bytes: a tampered row)
    json_has_format: str  # true when the JSON list in column `{column}` holds the parameter `{param}`
    triggers: str  # a statement listing the names (column `name`) of the schema's triggers
    log_guards: tuple[str, ...]  # the triggers that keep the log append-only
    _marks: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        marks = tuple(", ".join([self.placeholder] * n) for n in range(33))
        object.__setattr__(self, "_marks", marks)

    def marks(self, count: int) -> str:
        """`count` positional parameters, comma-separated."""
        return self._marks[count] if count < len(self._marks) else ", ".join([self.placeholder] * count)

    def named(self, name: str) -> str:
        return self.named_format.format(name)

    def stored_text(self, column: str) -> str:
        return self.stored_text_format.format(column)

    def json_has(self, column: str) -> str:
        return self.json_has_format.format(column=column, param=self.placeholder)
