"""Tool schemas in the form that is cheapest for a model to read and a client to check.

tools/list is read by a model before any call, so every character in it is paid for in every
conversation; and the SDK's client checks each structured result against its output schema.
pydantic's schemas give every property a title, repeat each nested model in full wherever it
occurs, and reach them through `$ref`s that cost the client's jsonschema several times the
call. What tools/list shows instead:

- no titles (the property's name says it) and whitespace in descriptions collapsed; `$ref`s
  inlined; a nullable value is `anyOf [null, X]` (null first: a null is accepted at the first
  try), never a type array such as `["string", "null"]`, which strict clients refuse;
- an optional argument is shown as its type alone, without `null` or `"default": null`
  (leave it out to leave it unset);
- an output schema describes the result's own properties; an object inside one is written as
  the names of its fields (in its description), since the model reads the values themselves;
  descriptions that only repeat the property's name, its enum or that a date-time is a time go,
  and so does `required` (a result always holds every field, null when empty);
- a model that a read tool's result documents (the proposal by get_proposal, a comment by
  get_discussion's `comments`) is named, not repeated, wherever another tool returns it: a
  write's result lists what it adds (its `receipt`) and says "the same fields as
  get_proposal's result". Reads are shown to every agent, so the tool named is always listed.

Every result still validates against its schema in the client: the schema says less about
nested values, never something else.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from mcp.server import MCPServer
from pydantic import BaseModel

from hivegov_mcp.catalogue import CATALOGUE, Operation

_FILLER = frozenset({"the", "a", "an", "of", "its", "this", "id", "or", "and"})
_WHEN = frozenset({"when", "utc", "time"})
_NULL = {"type": "null"}


def lighten(schema: Any, *, pointers: Mapping[str, str] | None = None) -> Any:
    """An equivalent schema: `$ref`s to `$defs` inlined, titles dropped, descriptions' whitespace
    collapsed, nullable `anyOf`s with null first. A `$ref` to a model named in `pointers` becomes
    an object described by the pointer's text instead."""
    return _light(schema, {}, pointers or {})


def _light(schema: Any, defs: dict[str, Any], pointers: Mapping[str, str]) -> Any:
    if isinstance(schema, list):
        return [_light(item, defs, pointers) for item in schema]
    if not isinstance(schema, dict):
        return schema
    defs = {**defs, **schema.get("$defs", {})}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and len(schema) <= 2:
        model = ref.removeprefix("#/$defs/")
        if model in pointers:
            return {"type": "object", "description": pointers[model]}
        target = dict(defs[model])
        if "description" in schema:
            target["description"] = schema["description"]
        return _light(target, defs, pointers)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$defs", "title"):
            continue
        if key == "properties":  # property names are data here, not keywords: keep every one
            out[key] = {name: _light(sub, defs, pointers) for name, sub in value.items()}
        elif key == "description" and isinstance(value, str):
            out[key] = " ".join(value.split())
        else:
            out[key] = _light(value, defs, pointers)
    options = out.get("anyOf")
    if isinstance(options, list) and _NULL in options:
        out["anyOf"] = [_NULL, *(o for o in options if o != _NULL)]
    return out


# -- inputs ---------------------------------------------------------------------------------------


def input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The arguments' schema as listed: lightened, each optional argument as its type alone."""
    light: dict[str, Any] = lighten(schema)
    required = set(light.get("required", []))
    light["properties"] = {
        name: sub if name in required else _optional(sub) for name, sub in light.get("properties", {}).items()
    }
    return light


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("default", "given") is not None:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("default", "anyOf")}
    options = [o for o in schema.get("anyOf", []) if o != _NULL]
    if len(options) == 1 and isinstance(options[0], dict):
        return {**options[0], **rest}
    return {key: value for key, value in schema.items() if key != "default"}


# -- outputs --------------------------------------------------------------------------------------


def _says_nothing_more(name: str, schema: Mapping[str, Any]) -> bool:
    """Whether a property's description only repeats its name ("Proposal id." for proposal_id),
    its enum ("comment, suggestion or support.") or that a date-time is a time ("When (UTC).")."""
    words = set(re.findall(r"[a-z0-9]+", str(schema.get("description", "")).lower()))
    said = set(name.lower().split("_")) | _FILLER
    for option in [schema, *schema.get("anyOf", [])]:
        for value in option.get("enum", []):
            said |= set(re.findall(r"[a-z0-9]+", str(value).lower()))
        if option.get("format") == "date-time":
            said |= _WHEN
    return words <= said


def _named_fields(schema: Any) -> Any:
    """A result's property with each object inside it written as the names of its fields."""
    if isinstance(schema, list):
        return [_named_fields(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "properties" in schema:
        said = schema.get("description", "")
        return {"type": "object", "description": f"{said} Fields: {', '.join(schema['properties'])}.".strip()}
    return {key: _named_fields(value) if key in ("items", "anyOf") else value for key, value in schema.items()}


def _property(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = _named_fields(schema)
    shown.pop("default", None)  # a result always holds the field
    if "description" in shown and _says_nothing_more(name, schema):
        del shown["description"]
    return shown


def _models_in(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    """The models an annotation holds, each with whether it holds a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
        return
    origin = typing.get_origin(annotation)
    for arg in typing.get_args(annotation):
        for model, listed in _models_in(arg):
            yield model, listed or origin is list


def documented_models(catalogue: Mapping[str, Operation]) -> dict[str, tuple[str, str]]:
    """Model name -> (the first read tool whose result shows it, where in that result)."""
    found: dict[str, tuple[str, str]] = {}
    for op in catalogue.values():
        if op.kind.writes or not op.tool:
            continue
        found.setdefault(op.result.__name__, (op.name, f"{op.name}'s result"))
        for field, info in op.result.model_fields.items():
            for model, listed in _models_in(info.annotation):
                where = f"an item of {op.name}'s {field}" if listed else f"{op.name}'s {field}"
                found.setdefault(model.__name__, (op.name, where))
    return found


def output_schema(op: Operation, schema: dict[str, Any], documented: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The output schema tools/list shows for `op` (`schema` is pydantic's)."""
    pointers = {model: f"The same fields as {where}." for model, (tool, where) in documented.items() if tool != op.name}
    light: dict[str, Any] = lighten(schema, pointers=pointers)
    light.pop("required", None)
    light["properties"] = {name: _property(name, sub) for name, sub in light["properties"].items()}
    base = next((m for m in op.result.__mro__ if m.__name__ in pointers and issubclass(m, BaseModel)), None)
    if not op.kind.writes or base is None:
        return light
    fields, inherited = op.result.model_fields, base.model_fields
    own = [
        name
        for name in light["properties"]
        if name not in inherited
        or (fields[name].annotation, fields[name].description)
        != (inherited[name].annotation, inherited[name].description)
    ]
    _, where = documented[base.__name__]
    return {
        "type": "object",
        "description": f"The same fields as {where}" + (f", and: {', '.join(own)}." if own else "."),
        "properties": {name: light["properties"][name] for name in own},
    }


def lighten_output_schemas(mcp: MCPServer[Any]) -> None:
    """Rewrite every registered tool's input and output schema in place, as tools/list shows
    them (the SDK keeps both on the tool; it checks arguments with its own model, not with the
    listed schema)."""
    documented = documented_models(CATALOGUE)
    for tool in mcp._tool_manager.list_tools():
        tool.parameters = input_schema(tool.parameters)
        metadata = tool.fn_metadata
        op = CATALOGUE.get(tool.name)
        if metadata.output_schema is not None:
            if op is None:
                metadata.output_schema = lighten(metadata.output_schema)
            else:
                metadata.output_schema = output_schema(op, metadata.output_schema, documented)
