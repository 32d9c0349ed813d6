"""Short messages for tool arguments the SDK refused, and a check for text that is not Unicode.

pydantic's own message lists every error with the rejected value and a link; a model acts
better on one line per parameter that names it and the allowed values.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from hivegov_mcp.domain.limits import lone_surrogate

MAX_SHOWN = 60


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def describe_validation(exc: ValidationError) -> str:
    """One clause per refused parameter: its name, what it must be, what was given."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        if err["type"] == "missing":
            parts.append(f"{where} is required")
        else:
            message = str(err["msg"]).replace("Input should be", "must be")
            parts.append(f"{where} {message} (got {_shown(err.get('input'))})")
    more = len(exc.errors()) - 5
    tail = f"; and {more} more" if more > 0 else ""
    return "Invalid arguments: " + "; ".join(parts) + tail + "."


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
