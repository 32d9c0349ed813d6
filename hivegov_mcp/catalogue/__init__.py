"""The catalogue of operations: each declared once (`base.Operation`), every door derived.

MCP tools (`mcp/tools.py`), REST routes and OpenAPI (`http/rest.py`), the per-role tools/list,
the dashboard's forms and the command line's read-or-write all read this table. Adding an
operation is the service method, one entry in the module of its group, and its tests; the
checks in `checks.py` run at import, so an entry that disagrees with the service or the
permission table stops the server from starting rather than misbehaving.
"""

from __future__ import annotations

from collections.abc import Mapping

from hivegov_mcp.catalogue import aftervote, agents, delegation, discussion, proposals, records, voting
from hivegov_mcp.catalogue.base import Arguments, Kind, Operation, Route, View
from hivegov_mcp.catalogue.checks import check_catalogue

__all__ = ["CATALOGUE", "OPERATIONS", "TOOLS", "Arguments", "Kind", "Operation", "Route", "View"]

OPERATIONS: tuple[Operation, ...] = tuple(
    op for group in (agents, proposals, discussion, voting, delegation, aftervote, records) for op in group.OPERATIONS
)
check_catalogue(OPERATIONS)
CATALOGUE: Mapping[str, Operation] = {op.name: op for op in OPERATIONS}
TOOLS: tuple[Operation, ...] = tuple(op for op in OPERATIONS if op.tool)
