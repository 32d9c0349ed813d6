"""A check for text that is not Unicode, and (from the catalogue) the short message for tool
arguments the SDK refused: pydantic's own lists every error with the rejected value and a link;
a model acts better on one line per parameter that names it and the allowed values."""

from __future__ import annotations

from typing import Any

from hivegov_mcp.catalogue.base import describe_validation
from hivegov_mcp.domain.limits import lone_surrogate

__all__ = ["describe_validation", "surrogate_problem"]


def _surrogate_message(where: str, text: str, at: int) -> str:
    return (
        f"Invalid argument {where or 'text'}: it contains a lone UTF-16 surrogate ({text[at]!r} at "
        f"character {at}), which is not valid Unicode text; send complete surrogate pairs or plain UTF-8."
    )


def surrogate_problem(value: Any, where: str = "") -> str | None:
    """The first string (a value or a key) holding a lone UTF-16 surrogate, as a message.

    Walks the value with an explicit stack, so any depth of nesting is fine."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            at = lone_surrogate(item)
            if at is not None:
                return _surrogate_message(path, item, at)
        elif isinstance(item, dict):
            children: list[tuple[str, Any]] = []
            for key, child in item.items():
                name = str(key)
                if lone_surrogate(name) is not None:
                    return _surrogate_message(f"{path}.name" if path else "name", name, lone_surrogate(name) or 0)
                children.append((f"{path}.{name}" if path else name, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path}[{i}]", child) for i, child in enumerate(item)]))
    return None
