"""Limits on input (DESIGN §9), checked before anything is written."""

from __future__ import annotations

import re

from hivegov_mcp.errors import InvalidInput

MAX_TITLE = 200
MAX_FIELD_BYTES = 64 * 1024
MAX_COMMENT_BYTES = 16 * 1024
MAX_JUSTIFICATION_BYTES = 4 * 1024
MAX_REASON_BYTES = 4 * 1024
MAX_DEPENDENCIES = 50
MAX_REFERENCES = 50
MAX_QUERY_CHARS = 500
AGENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_text(field: str, value: str, *, max_bytes: int, required: bool = True) -> str:
    """Reject NUL bytes, empty required text and text over `max_bytes` (UTF-8)."""
    if "\x00" in value:
        raise InvalidInput(field, "contains a NUL byte; remove it and try again")
    if required and not value.strip():
        raise InvalidInput(field, "is empty; it is required")
    size = len(value.encode())
    if size > max_bytes:
        raise InvalidInput(field, f"is {size} bytes; the limit is {max_bytes} bytes. Shorten it.")
    return value


def check_title(value: str) -> str:
    check_text("title", value, max_bytes=MAX_FIELD_BYTES)
    if len(value) > MAX_TITLE:
        raise InvalidInput("title", f"is {len(value)} characters; the limit is {MAX_TITLE}")
    if len(value.splitlines()) > 1 or value.endswith(("\n", "\r")):
        raise InvalidInput("title", "must be one line")
    return value


def check_agent_id(value: str) -> str:
    if not AGENT_ID.fullmatch(value):
        raise InvalidInput(
            "agent_id", f"{value!r} must be a slug: lowercase letters, digits, - and _, at most 64 characters"
        )
    return value
