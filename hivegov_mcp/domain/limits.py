"""Limits on input (DESIGN §9), checked before anything is written."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

from hivegov_mcp.domain.errors import InvalidInput

E = TypeVar("E", bound=StrEnum)

MAX_TITLE = 200
MAX_FIELD_BYTES = 64 * 1024
MAX_COMMENT_BYTES = 16 * 1024
MAX_JUSTIFICATION_BYTES = 4 * 1024
MAX_REASON_BYTES = 4 * 1024
MAX_DEPENDENCIES = 50
MAX_REFERENCES = 50
MAX_QUERY_CHARS = 500
MAX_QUERY_TERMS = 16  # more distinct words than this add cost, not precision: the rest are ignored
# One report of model usage (report_model_usage): the model's name, its requests and tokens.
MAX_MODEL_NAME = 200  # characters
MAX_MODEL_REQUESTS = 1_000_000
MAX_MODEL_TOKENS = 1_000_000_000  # input and output, each

# Pages: the default and the most a caller may ask for, stated once for every door.
DEFAULT_LIST, MAX_LIST = 20, 100  # proposals
DEFAULT_SEARCH, MAX_SEARCH = 10, 50  # search hits
DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE = 50, 500  # audit events
DEFAULT_COMMENT_PAGE, MAX_COMMENT_PAGE = 100, 500  # comments of a discussion
AGENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def choice(field: str, kind: type[E], value: str) -> E:
    """`value` as one of the enum's values, or InvalidInput naming them all."""
    try:
        return kind(value)
    except ValueError:
        names = [e.value for e in kind]
        allowed = f"{', '.join(names[:-1])} or {names[-1]}"
        raise InvalidInput(field, f"{value!r} must be {allowed}") from None


def check_text(field: str, value: str, *, max_bytes: int, required: bool = True) -> str:
    """Reject NUL bytes, empty required text and text over `max_bytes` (UTF-8)."""
    if "\x00" in value:
        raise InvalidInput(field, "contains a NUL byte; remove it and try again")
    check_encodable(field, value)
    if required and not value.strip():
        raise InvalidInput(field, "is empty; it is required")
    size = len(value.encode())
    if size > max_bytes:
        raise InvalidInput(field, f"is {size} bytes; the limit is {max_bytes} bytes. Shorten it.")
    return value


def lone_surrogate(value: str) -> int | None:
    """The position of the first lone UTF-16 surrogate (text that is not valid Unicode), if any."""
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def check_encodable(field: str, value: str) -> str:
    """Text either store can keep: valid Unicode, without NUL (PostgreSQL's text can't hold one)."""
    if "\x00" in value:
        raise InvalidInput(field, "contains a NUL byte; remove it and try again")
    at = lone_surrogate(value)
    if at is not None:
        raise InvalidInput(
            field,
            f"contains a lone UTF-16 surrogate ({value[at]!r} at character {at}), which is not valid Unicode text; "
            "send the character as a complete surrogate pair or as UTF-8",
        )
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
