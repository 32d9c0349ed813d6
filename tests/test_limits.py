"""Limits on input (DESIGN §9)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.errors import HivegovError, InvalidInput
from hivegov_mcp.domain.limits import (
    MAX_COMMENT_BYTES,
    MAX_FIELD_BYTES,
    MAX_JUSTIFICATION_BYTES,
    MAX_TITLE,
    check_agent_id,
    check_text,
    check_title,
)


def test_the_limits_are_those_of_the_design() -> None:
    assert (MAX_TITLE, MAX_FIELD_BYTES, MAX_COMMENT_BYTES, MAX_JUSTIFICATION_BYTES) == (200, 65536, 16384, 4096)


def test_text_within_the_limits_is_returned_unchanged() -> None:
    assert check_text("abstract", "  Ünïcode text\nwith lines  ", max_bytes=100) == "  Ünïcode text\nwith lines  "


def test_a_nul_byte_is_rejected() -> None:
    with pytest.raises(InvalidInput) as info:
        check_text("content", "before\x00after", max_bytes=MAX_COMMENT_BYTES)
    assert info.value.field == "content"
    assert str(info.value) == "Invalid content: contains a NUL byte; remove it and try again"


def test_a_nul_byte_is_rejected_even_in_optional_text() -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        check_text("implementation", "\x00", max_bytes=100, required=False)


def test_text_at_the_byte_limit_is_accepted() -> None:
    assert check_text("content", "a" * MAX_COMMENT_BYTES, max_bytes=MAX_COMMENT_BYTES) == "a" * MAX_COMMENT_BYTES


def test_text_one_byte_over_the_limit_is_rejected() -> None:
    with pytest.raises(InvalidInput) as info:
        check_text("content", "a" * (MAX_COMMENT_BYTES + 1), max_bytes=MAX_COMMENT_BYTES)
    assert str(info.value) == "Invalid content: is 16385 bytes; the limit is 16384 bytes. Shorten it."


def test_multi_byte_characters_count_by_their_utf8_bytes() -> None:
    two_byte = "é" * 33  # 33 characters, 66 bytes
    four_byte = "🐝" * 17  # 17 characters, 68 bytes
    assert check_text("j", "é" * 32, max_bytes=64) == "é" * 32
    for text, size in ((two_byte, 66), (four_byte, 68)):
        assert len(text) < 64
        with pytest.raises(InvalidInput, match=f"is {size} bytes; the limit is 64 bytes"):
            check_text("j", text, max_bytes=64)


def test_empty_or_blank_required_text_is_rejected() -> None:
    for value in ("", "   ", "\n\t"):
        with pytest.raises(InvalidInput, match="is empty; it is required"):
            check_text("abstract", value, max_bytes=100)


def test_empty_optional_text_is_accepted() -> None:
    assert check_text("implementation", "", max_bytes=100, required=False) == ""


def test_a_title_of_200_characters_is_accepted_even_when_they_are_multi_byte() -> None:
    assert check_title("x" * 200) == "x" * 200
    assert check_title("é" * 200) == "é" * 200


def test_a_title_over_200_characters_is_rejected() -> None:
    with pytest.raises(InvalidInput) as info:
        check_title("x" * 201)
    assert str(info.value) == "Invalid title: is 201 characters; the limit is 200"


@pytest.mark.parametrize("title", ["First line\nsecond line", "Carriage\rreturn", "Windows\r\nline", "trailing\n"])
def test_a_multi_line_title_is_rejected(title: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_title(title)
    assert (info.value.field, info.value.problem) == ("title", "must be one line")


def test_a_title_with_a_nul_byte_or_no_text_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        check_title("Bad\x00title")
    with pytest.raises(InvalidInput, match="empty"):
        check_title(" ")


@pytest.mark.parametrize("agent_id", ["alice", "a", "0", "bot-7", "claude_code", "a" * 64, "9lives", "x-_-y"])
def test_a_slug_is_a_valid_agent_id(agent_id: str) -> None:
    assert check_agent_id(agent_id) == agent_id


@pytest.mark.parametrize(
    "agent_id", ["", "Alice", "-alice", "_alice", "a" * 65, "al ice", "al.ice", "zoë", "a/b", "@engine", " alice"]
)
def test_a_non_slug_agent_id_is_rejected(agent_id: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_agent_id(agent_id)
    assert info.value.field == "agent_id"
    assert repr(agent_id) in str(info.value)


def test_an_invalid_input_is_a_hivegov_error() -> None:
    with pytest.raises(HivegovError):
        check_agent_id("NOPE")


def test_an_agent_id_with_a_trailing_newline_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        check_agent_id("alice\n")


SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@settings(max_examples=200, deadline=None)
@given(agent_id=st.from_regex(SLUG, fullmatch=True))
def test_every_slug_is_accepted(agent_id: str) -> None:
    assert check_agent_id(agent_id) == agent_id


@settings(max_examples=200, deadline=None)
@given(agent_id=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=70))
def test_an_agent_id_is_accepted_exactly_when_it_is_a_slug(agent_id: str) -> None:
    if SLUG.fullmatch(agent_id):
        assert check_agent_id(agent_id) == agent_id
    else:
        with pytest.raises(InvalidInput):
            check_agent_id(agent_id)
