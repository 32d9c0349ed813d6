"""The catalogue checked against what it names, at import: a wrong entry is an error before the
server serves anything, never a door that quietly does something else."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

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
    method = getattr(GovernanceService, op.service_method, None)
    if method is None or not inspect.iscoroutinefunction(method):
        return f"GovernanceService has no async method {op.service_method!r}"
    transaction = getattr(method, "__transaction__", None)
    if transaction == "read" and op.kind.writes:
        return f"declared {op.kind.value} but the service method is @reads"
    if transaction == "write" and not op.kind.writes and op.service_method not in _SIGNING_READS:
        return "declared read but the service method is @writes"
    parameters = list(inspect.signature(method).parameters.values())[2:]  # after self and the actor
    taken = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    fields = op.arguments.model_fields
    if set(fields) != taken:
        return f"arguments {sorted(fields)} differ from the service method's {sorted(taken)}"
    for p in parameters:
        if p.default is inspect.Parameter.empty and not fields[p.name].is_required():
            return f"argument {p.name} is optional here but required by the service method"
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
