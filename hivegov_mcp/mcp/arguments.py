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


def surrogate_problem(arguments: Any, where: str = "") -> str | None:
    """The first argument holding a lone UTF-16 surrogate (invalid Unicode), as a message."""
    if isinstance(arguments, str):
        at = lone_surrogate(arguments)
        if at is None:
            return None
        return (
            f"Invalid argument {where or 'text'}: it contains a lone UTF-16 surrogate ({arguments[at]!r} at "
            f"character {at}), which is not valid Unicode text; send complete surrogate pairs or plain UTF-8."
        )
    if isinstance(arguments, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in arguments.items()]
    elif isinstance(arguments, list):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(arguments)]
        return next((p for k, v in items if (p := surrogate_problem(v, k))), None)
    else:
        return None
    for key, value in items:
        key_problem = surrogate_problem(key, "name")
        if key_problem:
            return key_problem
        name = f"{where}.{key}" if where else key
        problem = surrogate_problem(value, name)
        if problem:
            return problem
    return None
