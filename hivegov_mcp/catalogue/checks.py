"""The catalogue checked against what it names, at import: a wrong entry is an error before the
server serves anything, never a door that quietly does something else."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hivegov_mcp.catalogue.base import Kind, Operation
from hivegov_mcp.domain.permissions import PERMISSIONS
from hivegov_mcp.service import GovernanceService


class CatalogueError(Exception):
    """An entry of the catalogue disagrees with the service, the permission table or itself."""


def check_catalogue(operations: Sequence[Operation]) -> None:
    names = [op.name for op in operations]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CatalogueError(f"operations declared twice: {', '.join(repeated)}")
    routes = [(op.rest.verb, op.rest.path) for op in operations if op.rest]
    clashes = sorted({f"{v} {p}" for v, p in routes if routes.count((v, p)) > 1})
    if clashes:
        raise CatalogueError(f"routes declared twice: {', '.join(clashes)}")
    for op in operations:
        problem = _problem(op)
        if problem:
            raise CatalogueError(f"catalogue entry {op.name}: {problem}")


def _problem(op: Operation) -> str | None:
    if op.permission not in PERMISSIONS:
        return f"permission {op.permission!r} is not in the permission table (domain/permissions.py)"
    if not op.description.strip():
        return "no description"
    if op.view is not None and not op.tool:
        return f"a view ({op.view.value}) but no tool: a view shows a tool's result"
    method = getattr(GovernanceService, op.service_method, None)
    if method is None or not inspect.iscoroutinefunction(method):
        return f"GovernanceService has no async method {op.service_method!r}"
    transaction = getattr(method, "__transaction__", None)
    if transaction is None and op.service_method not in _COMPOSITE:
        return "the service method is neither @reads nor @writes"
    if transaction == "read" and op.kind.writes:
        return f"declared {op.kind.value} but the service method is @reads"
    if transaction == "write" and not op.kind.writes and op.service_method not in _SIGNING_READS:
        return "declared read but the service method is @writes"
    parameters = list(inspect.signature(method).parameters.values())[2:]  # after self and the actor
    taken = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    fields = op.arguments.model_fields
    if set(fields) != taken:
        return f"arguments {sorted(fields)} differ from the service method's {sorted(taken)}"
    hints = typing.get_type_hints(inspect.unwrap(method))
    for p in parameters:
        if p.default is inspect.Parameter.empty and not fields[p.name].is_required():
            return f"argument {p.name} is optional here but required by the service method"
        declared, taken_as = _shape(fields[p.name].annotation), _shape(hints.get(p.name))
        if declared and taken_as and declared != taken_as:
            return f"argument {p.name} is declared {declared} here but the service method takes {taken_as}"
    returned = hints.get("return")
    if not (isinstance(returned, type) and issubclass(returned, op.result)):
        return f"the result model {op.result.__name__} is not what the service method returns ({returned})"
    if op.permission != "read" and not _names_permission(method, op.permission):
        return (
            f"the service method never checks the permission {op.permission!r} (require(..., {op.permission!r}, ...))"
        )
    if op.rest is not None:
        if (op.rest.verb == "GET") != (op.kind is Kind.READ):
            return f"a {op.kind.value} operation served by {op.rest.verb}: reads are GET, writes are not"
        for name in op.rest.path_arguments:
            if name not in fields or not fields[name].is_required():
                return f"path argument {{{name}}} is not a required argument"
        unknown = set(op.rest.names) - set(fields)
        if unknown:
            return f"REST names for unknown arguments {sorted(unknown)}"
    elif not op.tool and not op.command:
        return "served by no door (not a tool, a REST route or a command)"
    return None


# Reads that may record a checkpoint they sign (a write of the log's own bookkeeping).
_SIGNING_READS = frozenset({"latest_checkpoint", "get_audit_proof"})
# Operations that run several reads or writes of their own rather than one (so neither decorator).
_COMPOSITE = frozenset({"whoami", "verify_audit", "latest_checkpoint", "get_audit_proof", "get_governance_metrics"})


def _shape(annotation: Any) -> str | None:
    """What kind of value a type takes, coarsely (optional and constraints left aside; an enum of
    strings is a string): enough to catch an argument declared int that the service takes as str."""
    if annotation is None:
        return None
    if typing.get_origin(annotation) is typing.Annotated:
        return _shape(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        shapes = {_shape(a) for a in typing.get_args(annotation) if a is not type(None)}
        return shapes.pop() if len(shapes) == 1 else None
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type):
        if issubclass(origin, str):
            return "string"
        if issubclass(origin, bool):
            return "boolean"
        for base, name in ((int, "integer"), (float, "number"), (datetime, "time")):
            if issubclass(origin, base):
                return name
        if issubclass(origin, Sequence):
            return "list"
    return None


def _names_permission(method: Any, permission: str) -> bool:
    """Whether the service method (or the helper it delegates to) names the permission it checks."""
    source = inspect.getsource(inspect.unwrap(method))
    return f'"{permission}"' in source
