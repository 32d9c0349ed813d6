"""The MCP tools (DESIGN §7), registered from the catalogue: one tool per operation it marks as
a tool, with the operation's name, description and kind (as tool annotations), its argument
model as the input schema and its result model as the output schema. Each tool resolves the
acting agent and calls the service through `call`, which maps domain errors. A tool whose entry
names a view points to it in `_meta.ui` (MCP Apps, `mcp/views`)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from hivegov_mcp.catalogue import TOOLS, Kind, Operation
from hivegov_mcp.catalogue.base import parameter_default
from hivegov_mcp.mcp.context import AppState, call
from hivegov_mcp.mcp.views import tool_meta

ANNOTATIONS = {
    kind: ToolAnnotations(
        read_only_hint=kind is Kind.READ,
        destructive_hint=kind is Kind.DESTRUCTIVE,
        idempotent_hint=kind in (Kind.READ, Kind.IDEMPOTENT),
        open_world_hint=False,
    )
    for kind in Kind
}


def tool_function(op: Operation) -> Any:
    """A function whose signature is the operation's arguments (keyword-only, each with its type,
    constraints and description): the SDK derives the tool's input schema and validation from it,
    as it does for a hand-written tool."""

    async def tool(ctx: Context[AppState], **arguments: Any) -> BaseModel:
        return await call(ctx, lambda service, agent: op.invoke(service, agent, arguments))

    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    for name, info in op.arguments.model_fields.items():
        annotation: Any = Annotated.__class_getitem__(  # type: ignore[attr-defined]
            (info.annotation, *info.metadata, Field(description=info.description))
        )
        default = parameter_default(info)
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
    tool.__name__ = tool.__qualname__ = op.name
    tool.__signature__ = inspect.Signature(parameters, return_annotation=op.result)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": op.result}
    return tool


def register_tools(mcp: MCPServer[AppState]) -> None:
    for op in TOOLS:
        mcp.add_tool(
            tool_function(op),
            name=op.name,
            description=op.full_description,
            annotations=ANNOTATIONS[op.kind],
            meta=tool_meta(op.view),
        )
